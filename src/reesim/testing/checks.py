"""Checks for your own tests: model invariants of a run, and engine agreement.

:func:`assert_invariants` checks one :class:`~reesim.Results` (run with
``record="all"``) against the model's invariants; :func:`assert_engines_agree`
runs a scenario through the vectorised core and the SimPy reference engine
on the same sampled table and asserts that every recorded series, the mass
ledger and the metrics agree. Both raise :class:`AssertionError` with a
message that names the series, the entity, the replicate and the period.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reesim.errors import ReesimWarning
from reesim.plan import Plan
from reesim.results import Results
from reesim.sampling import Samples, draw_samples
from reesim.scenario import Scenario

__all__ = [
    "ATOL_SCALE",
    "RTOL",
    "assert_engines_agree",
    "assert_invariants",
    "capacity_per_period",
    "ledger_mismatch",
    "run_scale",
    "series_mismatch",
]

FloatArray = NDArray[np.float64]

#: Relative tolerance between engines: |a - b| <= RTOL * max(|a|, |b|) + ATOL_SCALE * max|series|.
RTOL = 1e-9
#: Absolute part of the tolerance, relative to the largest value of the series.
ATOL_SCALE = 1e-12

_ENTITY = {
    "demand": "sink",
    "served": "sink",
    "production": "facility",
    "departures": "route",
    "arrivals": "route",
    "inventory": "holding",
    "in_transit": "holding",
}


def _label(plan: Plan, name: str, j: int) -> str:
    kind = _ENTITY[name]
    if kind == "sink":
        return f"sink '{plan.sink_ids[j]}'"
    if kind == "facility":
        return f"facility '{plan.facility_ids[j]}'"
    if kind == "route":
        return f"route '{plan.route_ids[j]}'"
    return f"holding '{plan.holding_label(j)}'"


def series_mismatch(
    plan: Plan, name: str, a: FloatArray, b: FloatArray, scale: float | None = None
) -> str | None:
    """Where two [R, N, X] series first disagree beyond the engine tolerance, or None.

    The tolerance is ``RTOL * max(|a|, |b|) + ATOL_SCALE * scale``. ``scale``
    is the size of the run: by default the largest absolute value of this
    series; :func:`assert_engines_agree` passes the largest value of any series
    of the run, because rounding residues come from the flows through the
    network (a stock that is always empty in one engine may hold 1e-16 t of
    rounding in the other).
    """
    if a.shape != b.shape:
        return f"{name}: shapes differ ({a.shape} vs {b.shape})"
    if scale is None:
        scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    tol = RTOL * np.maximum(np.abs(a), np.abs(b)) + ATOL_SCALE * scale
    bad = ~(np.abs(a - b) <= tol)
    if not bad.any():
        return None
    where = np.argwhere(bad)
    first = where[np.lexsort((where[:, 2], where[:, 0], where[:, 1]))][0]  # earliest period
    r, k, j = (int(x) for x in first)
    return (
        f"{name} of {_label(plan, name, j)} differs first in replicate {r}, period {k}: "
        f"{float(a[r, k, j])!r} vs {float(b[r, k, j])!r} ({int(bad.sum())} values differ)"
    )


def run_scale(series: list[FloatArray | None]) -> float:
    """The largest absolute value among the given series (the size of a run)."""
    return max((float(np.abs(x).max(initial=0.0)) for x in series if x is not None), default=0.0)


def ledger_mismatch(plan: Plan, a: dict[str, FloatArray], b: dict[str, FloatArray]) -> list[str]:
    """Ledger entries [R, C] that differ beyond tolerance (scale: the largest entry)."""
    scale = run_scale([*a.values(), *b.values()])
    out = []
    for key, x in a.items():
        y = b[key]
        bad = ~(np.abs(x - y) <= RTOL * np.maximum(np.abs(x), np.abs(y)) + ATOL_SCALE * scale)
        if bad.any():
            r, c = (int(i) for i in np.argwhere(bad)[0])
            out.append(
                f"ledger {key} of commodity '{plan.commodity_ids[c]}' differs in replicate {r}: "
                f"{float(x[r, c])!r} vs {float(y[r, c])!r}"
            )
    return out


def _metric_mismatch(name: str, a: Any, b: Any, labels: list[str]) -> str | None:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == bool or b.dtype == bool:
        bad = a != b
    else:
        both_nan = np.isnan(a) & np.isnan(b)
        same_inf = np.isinf(a) & np.isinf(b) & (a == b)
        finite = np.isfinite(a) & np.isfinite(b)
        scale = np.nanmax(np.where(finite, np.maximum(np.abs(a), np.abs(b)), 0.0), initial=0.0)
        with np.errstate(invalid="ignore"):  # inf - inf: settled by same_inf
            gap = np.abs(a - b)
        close = finite & (gap <= RTOL * np.maximum(np.abs(a), np.abs(b)) + ATOL_SCALE * scale)
        bad = ~(both_nan | same_inf | close)
    if not bad.any():
        return None
    r, g = (int(x) for x in np.argwhere(bad)[0])
    return f"metric {name} of '{labels[g]}' differs in replicate {r}: {a[r, g].item()!r} vs {b[r, g].item()!r}"


def assert_engines_agree(
    scenario: Scenario,
    seed: int = 0,
    replicates: int = 4,
    *,
    engines: tuple[str, str] = ("vector", "des"),
) -> None:
    """Run both engines on the same sampled table and assert that they agree.

    Every recorded series (sinks, production, route flows, inventories) must
    agree within ``1e-9 * max(|a|, |b|) + 1e-12 * max|series|``; the mass
    ledgers likewise; the shortage metrics (for every grouping) must be
    equal up to the same rounding, with flags, NaNs and infinities equal.

    Parameters
    ----------
    scenario
        The scenario to run.
    seed
        Seed of the run (both engines read the same draws).
    replicates
        Number of replicates.
    engines
        The two engines to compare.

    Raises
    ------
    AssertionError
        Naming the first disagreement of each series that disagrees.
    """
    import reesim

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReesimWarning)
        runs = [
            reesim.simulate(scenario, replicates=replicates, seed=seed, engine=e, record="all")
            for e in engines
        ]
    a, b = runs
    problems = []
    scale = run_scale(list(a.series.values()) + list(b.series.values()))
    for name in _ENTITY:
        msg = series_mismatch(a.plan, name, a.series[name], b.series[name], scale)
        if msg:
            problems.append(msg)
    problems += ledger_mismatch(a.plan, a.ledger, b.ledger)
    for by, (labels, values) in a.metrics_by.items():
        for name, value in values.items():
            msg = _metric_mismatch(name, value, b.metrics_by[by][1][name], labels)
            if msg:
                problems.append(f"{msg} (grouped by {by})")
    if a.warnings != b.warnings:
        problems.append(f"warnings differ: {a.warnings} vs {b.warnings}")
    if problems:
        raise AssertionError(
            f"engines {engines[0]!r} and {engines[1]!r} disagree on scenario "
            f"{scenario.name!r} (seed {seed}, {replicates} replicates):\n  " + "\n  ".join(problems)
        )


def capacity_per_period(plan: Plan, smp: Samples) -> FloatArray:
    """Capacity of every facility in every period, t per period [R, N, F].

    Nameplate x commissioning share x active capacity factors, and 0 while
    an outage holds (computed here from the sampled table on its own, so
    that an invariant test does not lean on either engine).
    """
    n_rep, n, n_fac = smp.n, plan.n_periods, plan.n_facilities
    k = np.arange(n)[None, :, None]
    cap = np.repeat(smp.params["fac_capacity"][:, None, :], n, axis=1)
    for row, v in enumerate(plan.commissionings.event):
        f = int(np.flatnonzero(plan.commissionings.match[row])[0])
        k0 = smp.ev_k0[:, v][:, None]
        u = np.clip((np.arange(n)[None, :] - k0 + 1) / smp.commission_ramp[:, row][:, None], 0, 1)
        curve = 3 * u**2 - 2 * u**3 if plan.ramp_scurve[row] else u
        exists = (np.arange(n)[None, :] >= k0) & ~smp.commission_failed[:, row][:, None]
        cap[:, :, f] *= np.where(exists, smp.params["ev_share"][:, v][:, None] * curve, 0.0)
    for row, v in enumerate(plan.capacity_changes.event):
        on = (k >= smp.ev_k0[:, v][:, None, None]) & (k < smp.ev_k1[:, v][:, None, None])
        hit = on & plan.capacity_changes.match[row][None, None, :]
        cap = np.where(hit, cap * smp.params["ev_value"][:, v][:, None, None], cap)
    down = np.zeros((n_rep, n, n_fac), dtype=bool)
    for p, f in enumerate(smp.outage_fac):
        starts, ends = smp.outage_start[:, p, :], smp.outage_end[:, p, :]
        hit = ((k >= starts[:, None, :]) & (k < ends[:, None, :])).any(axis=2)
        down[:, :, int(f)] |= hit
    return np.where(down, 0.0, cap) * plan.dt


def assert_invariants(results: Results, rtol: float = 1e-9) -> None:
    """Assert the model's invariants on a run made with ``record="all"``.

    Checks: the mass balance of every commodity closes; no series is negative;
    served <= demand; activity <= capacity * dt; route flow <= its capacity * dt;
    banned routes carry nothing; matching shipments stay within each active quota.

    Raises
    ------
    ValueError
        When the results lack a series the checks need.
    AssertionError
        Naming the first violation of each kind.
    """
    missing = [k for k in _ENTITY if k not in results.series]
    if missing:
        raise ValueError(
            f"assert_invariants needs every series; these were not recorded: {missing} "
            '(run simulate(..., record="all"))'
        )
    plan, s = results.plan, results.series
    problems: list[str] = []
    results.check_mass_balance(rtol=rtol)
    for name, values in s.items():
        scale = np.abs(values).max(initial=0.0)
        if (values < -rtol * scale).any():
            problems.append(_first(plan, name, values < -rtol * scale, values, "is negative"))
    over = s["served"] > s["demand"] * (1 + rtol) + 1e-12
    if over.any():
        problems.append(_first(plan, "served", over, s["served"], "exceeds demand"))
    smp = draw_samples(plan, results.seed, np.arange(results.replicates))
    cap = capacity_per_period(plan, smp)
    over = s["production"] > cap * (1 + rtol) + 1e-12
    if over.any():
        problems.append(_first(plan, "production", over, s["production"], "exceeds capacity * dt"))
    flow = s["departures"]
    route_cap = smp.params["route_capacity"][:, None, :] * plan.dt
    over = flow > route_cap * (1 + rtol) + 1e-12
    if over.any():
        problems.append(_first(plan, "departures", over, flow, "exceeds the route's capacity"))
    k = np.arange(plan.n_periods)[None, :, None]
    for row, v in enumerate(plan.bans.event):
        on = (k >= smp.ev_k0[:, v][:, None, None]) & (k < smp.ev_k1[:, v][:, None, None])
        hit = on & plan.bans.match[row][None, None, :] & (flow != 0)
        if hit.any():
            problems.append(
                _first(plan, "departures", hit, flow, f"moves under ban {plan.event_ids[v]!r}")
            )
    for row, v in enumerate(plan.quotas.event):
        on = (k[:, :, 0] >= smp.ev_k0[:, v][:, None]) & (k[:, :, 0] < smp.ev_k1[:, v][:, None])
        total = flow[:, :, plan.quotas.match[row]].sum(axis=2)
        limit = smp.params["ev_value"][:, v][:, None] * plan.dt
        bad = on & (total > limit * (1 + rtol) + 1e-12)
        if bad.any():
            r, kk = (int(x) for x in np.argwhere(bad)[0])
            problems.append(
                f"quota {plan.event_ids[v]!r} exceeded in replicate {r}, period {kk}: "
                f"{total[r, kk]!r} t shipped, limit {limit[r, 0]!r} t"
            )
    if problems:
        raise AssertionError("invariants violated:\n  " + "\n  ".join(problems))


def _first(plan: Plan, name: str, mask: Any, values: FloatArray, what: str) -> str:
    r, k, j = (int(x) for x in np.argwhere(mask)[0])
    return (
        f"{name} of {_label(plan, name, j)} {what} in replicate {r}, period {k} "
        f"({float(values[r, k, j])!r}; {int(np.sum(mask))} values in all)"
    )
