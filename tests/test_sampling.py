"""The seed contract and the inverse-CDF sampling of every distribution."""

from __future__ import annotations

import numpy as np
import pytest

from reesim.plan import compile_plan, draw_id_for
from reesim.sampling import draw_samples, uniforms
from reesim.scenario.distributions import Bernoulli, Fixed, LogNormal, Normal, Triangular, Uniform
from tests.helpers import chain, day


def test_uniforms_follow_the_seed_contract() -> None:
    reps = np.array([0, 5, 123_456])
    u = uniforms(42, reps, 77)
    for n, i in enumerate(reps):
        word = int(
            np.random.SeedSequence(42, spawn_key=(int(i), 77)).generate_state(1, np.uint64)[0]
        )
        assert u[n] == ((word >> 11) + 0.5) / 2.0**53
    assert np.all((u > 0) & (u < 1))


def test_draw_ids_are_stable_hashes() -> None:
    assert draw_id_for("events[ban].start") == draw_id_for("events[ban].start")
    assert draw_id_for("events[ban].start") != draw_id_for("events[ban].end")


N = 200_000
U = (np.arange(N) + 0.5) / N  # a fine grid of uniforms: moments come out close to exact


@pytest.mark.parametrize(
    ("dist", "mean", "sd"),
    [
        (Uniform(low=2.0, high=8.0), 5.0, 6 / np.sqrt(12)),
        (Triangular(low=1.0, mode=2.0, high=6.0), 3.0, np.sqrt((1 + 4 + 36 - 2 - 6 - 12) / 18)),
        (Normal(mean=10.0, sd=2.0), 10.0, 2.0),
        (
            LogNormal(median=100.0, p90=300.0),
            100 * np.exp(0.5 * (np.log(3) / 1.2815515655446004) ** 2),
            None,
        ),
        (Bernoulli(p=0.3), 0.3, np.sqrt(0.21)),
        (Fixed(value=4.5), 4.5, 0.0),
    ],
)
def test_inverse_cdf_moments(dist, mean: float, sd: float | None) -> None:
    x = dist.ppf(U)
    np.testing.assert_allclose(x.mean(), mean, rtol=2e-3)
    np.testing.assert_allclose(dist.mean_value(), mean, rtol=1e-12)
    if sd is not None:
        np.testing.assert_allclose(x.std(), sd, rtol=5e-3, atol=1e-12)


def test_lognormal_p90() -> None:
    d = LogNormal(median=50.0, p90=200.0)
    np.testing.assert_allclose(d.ppf(np.array([0.5, 0.9])), [50.0, 200.0], rtol=1e-9)


def test_normal_is_clipped() -> None:
    d = Normal(mean=0.0, sd=5.0, low=-1.0, high=2.0)
    x = d.ppf(U)
    assert x.min() == -1.0 and x.max() == 2.0


def test_event_that_starts_beyond_the_horizon_does_not_happen() -> None:
    ban = {
        "id": "ban",
        "kind": "export_ban",
        "exporter": "CN",
        "start": {"dist": "uniform", "low": day(0), "high": day(7 * 40)},
    }
    plan = compile_plan(chain(weeks=20, events=[ban]))
    smp = draw_samples(plan, 9, np.arange(400))
    # acts from the first period boundary at or after the start: boundary 20 is past the end
    late = smp.params["ev_start_days"][:, 0] > 7 * 19
    assert 0.3 < late.mean() < 0.7
    assert not smp.ev_happens[late, 0].any()
    assert smp.ev_happens[~late, 0].all()
    assert (smp.ev_k0[late, 0] == plan.n_periods + 1).all()


def test_probability_draws_whether_an_event_happens() -> None:
    ban = {
        "id": "ban",
        "kind": "export_ban",
        "exporter": "CN",
        "start": day(14),
        "probability": 0.25,
    }
    plan = compile_plan(chain(weeks=20, events=[ban]))
    smp = draw_samples(plan, 1, np.arange(4000))
    assert 0.22 < smp.ev_happens[:, 0].mean() < 0.28


def test_time_rules() -> None:
    plan = compile_plan(chain(weeks=20))
    assert (
        plan.period_of_day(0.0) == 0
        and plan.period_of_day(7.0) == 1
        and plan.period_of_day(7.5) == 2
    )
    assert plan.periods_of_duration(3.4) == 1  # at least one period
    assert plan.periods_of_duration(10.5) == 2  # 1.5 rounds half up
    assert plan.periods_of_duration(10.49) == 1


@pytest.mark.parametrize("seed", [0, 7, 2**32 - 1, 2**32 + 5, 2**70 + 3])
@pytest.mark.parametrize("draw_id", [0, 77, 2**31 - 1])
def test_vectorised_seed_words_equal_numpy(seed: int, draw_id: int) -> None:
    from reesim.sampling import seed_words

    reps = np.concatenate(
        [np.arange(12), np.random.default_rng(seed % 1000).integers(0, 2**31, 12)]
    )
    expected = [
        np.random.SeedSequence(seed, spawn_key=(int(i), draw_id)).generate_state(1, np.uint64)[0]
        for i in reps
    ]
    np.testing.assert_array_equal(
        seed_words(seed, reps, draw_id), np.array(expected, dtype=np.uint64)
    )


def test_normal_quantile_matches_scipy_without_importing_it() -> None:
    import subprocess
    import sys

    from scipy.special import ndtri

    from reesim.scenario.distributions import _ndtri

    rng = np.random.default_rng(3)
    u = np.concatenate(
        [rng.random(50_000), np.logspace(-300, -1, 400), 1 - np.logspace(-16, -1, 400)]
    )
    np.testing.assert_allclose(_ndtri(u), ndtri(u), rtol=5e-15, atol=0)
    code = (
        "import sys, reesim; reesim.simulate('default', replicates=3, seed=1); "
        "print('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_many_draw_ids_at_once_equal_one_at_a_time() -> None:
    from reesim.sampling import seed_words

    reps = np.array([0, 3, 2**31, 2**32 - 2, 2**32 - 1, 2**33])
    ids = np.array([0, 7, 123_456_789, 2**32 - 1, 2**32 + 5])  # the last needs two words
    together = seed_words(2024, reps, ids)
    assert together.shape == (len(ids), len(reps))
    for row, draw_id in zip(together, ids, strict=True):
        expected = [
            np.random.SeedSequence(2024, spawn_key=(int(r), int(draw_id))).generate_state(
                1, np.uint64
            )[0]
            for r in reps
        ]
        np.testing.assert_array_equal(row, np.array(expected, dtype=np.uint64))


def _families(rng: np.random.Generator) -> list[list]:
    """Random distributions of every family, point masses and dates included."""
    out: list[list] = [[], [], [], []]
    for _ in range(25):
        lo = float(rng.uniform(-1e3, 1e3) * 10.0 ** rng.integers(-3, 3))
        width = 0.0 if rng.random() < 0.2 else float(rng.uniform(0, 1e3))
        mode = lo + width * float(rng.choice([0.0, 1.0, rng.random()]))
        out[0].append(Triangular(low=lo, mode=mode, high=lo + width))
        out[1].append(Uniform(low=lo, high=lo + width))
        med = float(rng.uniform(0.1, 100))
        out[2].append(LogNormal(median=med, p90=med * float(rng.uniform(1, 5))))
        out[3].append(Normal(mean=lo, sd=width / 3))
    d0 = day(0)
    out[0].append(Triangular(low=d0, mode=day(3), high=day(40)))
    out[1].append(Uniform(low=day(10), high=day(10)))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_ppf_rows_equals_each_distributions_own_ppf(seed: int) -> None:
    """Sampling a family's draws together gives the numbers one by one would."""
    rng = np.random.default_rng(seed)
    for dists in _families(rng):
        u = rng.random((len(dists), 257))
        u[:, :3] = [1e-300, 0.5, 1.0 - 1e-16]  # uniforms lie in (0, 1)
        together = type(dists[0]).ppf_rows(dists, u)
        one_by_one = np.array([d.ppf(row) for d, row in zip(dists, u, strict=True)])
        assert together.shape == u.shape
        assert np.array_equal(together, one_by_one), type(dists[0]).__name__
