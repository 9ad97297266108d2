"""Draw every uncertain value of a chunk of replicates once, before any engine runs.

Seed contract: replicate ``i`` (its global index, 0-based) takes draw ``j``
(a stable id per field, see :func:`reesim.plan.draw_id_for`) from the stream
``SeedSequence(seed, spawn_key=(i, j))``. A scalar draw uses the first 64-bit
word of that stream's state as one uniform in (0, 1) and applies the
distribution's inverse CDF; a random-outage history uses a PCG64 generator
seeded from the stream. Nothing depends on how replicates are chunked,
which worker runs them, or which engine reads the table.

The result is a :class:`Samples` table of per-replicate arrays, converted
to periods by the time rules of the model (ceil for instants, round half up
and at least one period for durations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reesim.plan import Plan, draw_id_for

__all__ = ["Samples", "draw_samples", "uniforms"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_TWO_M53 = 2.0**-53


# Constants of NumPy's SeedSequence (O'Neill's seed_seq alternative, pool size 4).
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_XSHIFT, _MASK = 16, 0xFFFFFFFF
_POOL = 4


def _words(n: int) -> list[int]:
    """A non-negative integer as little-endian 32-bit words, as SeedSequence splits it."""
    if n < _MASK:
        return [n]
    out = []
    while n:
        out.append(n & _MASK)
        n >>= 32
    return out


class _Hasher:
    """SeedSequence's hashing over whole arrays of uint32 words.

    The multiplier of ``hashmix`` advances with every call, in call order, so
    one instance follows one pass of the algorithm.
    """

    def __init__(self) -> None:
        self.const = _INIT_A

    def hashmix(self, value: NDArray[np.uint32]) -> NDArray[np.uint32]:
        value = value ^ np.uint32(self.const)
        self.const = (self.const * _MULT_A) & _MASK
        value = value * np.uint32(self.const)
        return value ^ (value >> np.uint32(_XSHIFT))

    @staticmethod
    def mix(x: NDArray[np.uint32], y: NDArray[np.uint32]) -> NDArray[np.uint32]:
        r = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
        return r ^ (r >> np.uint32(_XSHIFT))


#: The hashing state after the seed and the replicate indices, for the last
#: (seed, replicates) asked: every draw of a chunk shares it, so only the draw
#: id's part is hashed per draw.
_REPLICATE_POOL: dict[tuple[object, ...], tuple[list[NDArray[np.uint32]], int]] = {}


def _replicate_pool(seed: int, reps: IntArray) -> tuple[list[NDArray[np.uint32]], int]:
    """Pool words [R] after hashing the seed and the replicate indices, and the multiplier."""
    n = len(reps)
    if n and np.array_equal(reps, np.arange(reps[0], reps[0] + n)):
        key: tuple[object, ...] = (seed, n, int(reps[0]))
    else:
        key = (seed, n, reps.tobytes())
    hit = _REPLICATE_POOL.get(key)
    if hit is not None:
        return hit
    run = _words(seed)
    run += [0] * max(0, _POOL - len(run))
    # The seed's words are the same for every replicate: hash them once, as (1,) arrays.
    entropy = [np.full(1, w, dtype=np.uint32) for w in run]
    entropy.append(reps.astype(np.uint32))
    h = _Hasher()
    pool = [h.hashmix(entropy[i]) for i in range(_POOL)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = h.mix(pool[dst], h.hashmix(pool[src]))
    for src in range(_POOL, len(entropy)):
        for dst in range(_POOL):
            pool[dst] = h.mix(pool[dst], h.hashmix(entropy[src]))
    pool = [np.broadcast_to(p, (n,)) for p in pool]
    _REPLICATE_POOL.clear()
    _REPLICATE_POOL[key] = (pool, h.const)
    return pool, h.const


def seed_words(seed: int, replicates: IntArray, draw_id: int | IntArray) -> NDArray[np.uint64]:
    """First 64-bit state word of ``SeedSequence(seed, spawn_key=(i, draw_id))`` for every i.

    A whole-array replica of NumPy's SeedSequence hashing, so that drawing
    one value for 100,000 replicates costs microseconds instead of seconds.
    It equals ``SeedSequence(...).generate_state(1, np.uint64)[0]`` bit for
    bit (checked by the test suite); replicate indices of 2**32 - 1 and above
    use NumPy itself. The part that depends on the seed and the replicate
    alone is hashed once per chunk and shared by its draws.

    Parameters
    ----------
    seed
        The run's seed.
    replicates
        Global replicate indices [R].
    draw_id
        One draw id, or an array [D] of them (each below 2**32).

    Returns
    -------
    numpy.ndarray
        [R] words for one draw id, [D, R] for an array of them.
    """
    reps = np.asarray(replicates, dtype=np.int64)
    ids = np.asarray(draw_id, dtype=np.int64)
    if ids.ndim == 1 and (ids >= 2**32).any():
        return np.stack([seed_words(seed, reps, int(d)) for d in ids])
    big = reps >= _MASK
    if big.any():
        out = np.empty((*ids.shape, len(reps)), dtype=np.uint64)
        out[..., ~big] = seed_words(seed, reps[~big], ids)
        for pos in np.flatnonzero(big):
            for j, d in enumerate(ids.reshape(-1)):
                ss = np.random.SeedSequence(seed, spawn_key=(int(reps[pos]), int(d)))
                out.reshape(-1, len(reps))[j, pos] = ss.generate_state(1, np.uint64)[0]
        return out
    shared, const = _replicate_pool(seed, reps)
    pool = list(shared)
    h = _Hasher()
    h.const = const
    if ids.ndim == 1:
        # Every draw id is one word: hash them all at once, a row per draw.
        words = [ids.astype(np.uint32)[:, None]]
    else:
        words = [np.full(1, w, dtype=np.uint32) for w in _words(int(ids))]
    for value in words:
        for dst in range(_POOL):
            pool[dst] = h.mix(pool[dst], h.hashmix(value))

    state = []
    hash_b = _INIT_B
    for i in range(2):
        value = pool[i] ^ np.uint32(hash_b)
        hash_b = (hash_b * _MULT_B) & _MASK
        value = value * np.uint32(hash_b)
        state.append(value ^ (value >> np.uint32(_XSHIFT)))
    return state[0].astype(np.uint64) | (state[1].astype(np.uint64) << np.uint64(32))


def uniforms(seed: int, replicates: IntArray, draw_id: int | IntArray) -> FloatArray:
    """One uniform in (0, 1) per replicate from ``SeedSequence(seed, spawn_key=(i, draw_id))``.

    u = ((w >> 11) + 0.5) * 2**-53 with w the stream's first 64-bit state word.
    With an array [D] of draw ids, the result is [D, R].
    """
    words = seed_words(seed, replicates, draw_id)
    return ((words >> np.uint64(11)).astype(np.float64) + 0.5) * _TWO_M53


@dataclass
class Samples:
    """Per-replicate values of one chunk; every array's first axis is the replicate.

    Attributes
    ----------
    replicates
        Global replicate indices [R].
    params
        Parameter arrays [R, n] (see :class:`~reesim.plan.Plan`), sampled
        entries replaced.
    ev_k0, ev_k1
        First period in which each event acts and the first period after it
        [R, V]; both ``n_periods + 1`` (never) when the event does not happen.
        ``ev_k1`` is ``n_periods + 1`` for an event without end.
    ev_happens
        Whether the event happens within the horizon [R, V].
    route_lead
        Lead time of each route in periods, >= 1 [R, E].
    licence_delay
        Extra delay of each licensing row in periods, >= 1 [R, n_licences].
    commission_failed
        Whether each commissioning fails outright [R, n_commissioning].
    commission_ramp
        Ramp time in periods, >= 1 [R, n_commissioning].
    outage_fac
        Facility of each (outage event, facility) pair [P].
    outage_start, outage_end
        Down intervals in periods, [R, P, M], padded with ``n_periods + 1``.
    """

    replicates: IntArray
    params: dict[str, FloatArray]
    ev_k0: IntArray
    ev_k1: IntArray
    ev_happens: BoolArray
    route_lead: IntArray
    licence_delay: IntArray
    commission_failed: BoolArray
    commission_ramp: IntArray
    outage_fac: IntArray
    outage_start: IntArray
    outage_end: IntArray
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.replicates)

    def edge_periods(self, n_periods: int) -> BoolArray:
        """[R, N] periods in which an event starts or ends or an outage begins or ends.

        The event-driven state of a replicate can change only in those periods
        (and during commissioning ramps, which the engines mark themselves).
        """
        n_rep = self.n
        mark = np.zeros((n_rep, n_periods + 2), dtype=bool)
        rows = np.arange(n_rep)[:, None]
        for when in (self.ev_k0, self.ev_k1, self.outage_start, self.outage_end):
            mark[rows, np.clip(when.reshape(n_rep, -1), 0, n_periods + 1)] = True
        return mark[:, :n_periods]


def draw_samples(plan: Plan, seed: int, replicates: IntArray) -> Samples:
    """Sample every uncertain value of ``plan`` for the given replicates.

    Parameters
    ----------
    plan
        The compiled scenario.
    seed
        The run's seed (a non-negative integer).
    replicates
        Global replicate indices to sample, e.g. ``np.arange(1000, 2000)``.
    """
    replicates = np.asarray(replicates, dtype=np.int64)
    n_rep = len(replicates)
    params = {k: np.repeat(v[None, :], n_rep, axis=0) for k, v in plan.params.items()}
    ids = np.array([d.draw_id for d in plan.draws], dtype=np.int64)
    u_all = uniforms(seed, replicates, ids) if ids.size else np.zeros((0, n_rep))
    # Draws of one distribution family go through its inverse CDF together, a row each.
    families: dict[Any, list[int]] = {}  # distribution class -> its draws
    for j, d in enumerate(plan.draws):
        families.setdefault(type(d.dist), []).append(j)
    for family, rows in families.items():
        draws = [plan.draws[j] for j in rows]
        values = np.asarray(family.ppf_rows([d.dist for d in draws], u_all[rows]), dtype=np.float64)
        low = np.array([[d.low] for d in draws], dtype=np.float64)
        high = np.array([[d.high] for d in draws], dtype=np.float64)
        np.clip(values, low, high, out=values)
        for d, row in zip(draws, values, strict=True):
            params[d.param][:, d.index] = row

    never = plan.n_periods + 1
    n_ev = plan.n_events
    start = params.get("ev_start_days", np.zeros((n_rep, 0)))
    end = params.get("ev_end_days", np.zeros((n_rep, 0)))
    duration = params.get("ev_duration_days", np.zeros((n_rep, 0)))
    prob = params.get("ev_probability", np.zeros((n_rep, 0)))

    happens = np.ones((n_rep, n_ev), dtype=bool)
    for v, eid in enumerate(plan.event_ids):
        if prob[:, v].min() < 1.0:
            happens[:, v] = (
                uniforms(seed, replicates, draw_id_for(f"events[{eid}].happens")) < prob[:, v]
            )
    k_start = plan.period_of_day(start)
    happens &= k_start < plan.n_periods
    end_days = np.where(np.isnan(end), start + duration, end)
    k_end = np.where(np.isnan(end_days), never, plan.period_of_day(np.nan_to_num(end_days)))
    k0 = np.where(happens, np.maximum(k_start, 0), never).astype(np.int64)
    k1 = np.where(happens, np.clip(k_end, 0, never), never).astype(np.int64)

    lead = plan.periods_of_duration(params["route_lead_days"]).astype(np.int64)
    notes = []
    sampled_leads = {d.index: d.path for d in plan.draws if d.param == "route_lead_days"}
    for e, path in sampled_leads.items():
        if (params["route_lead_days"][:, e] / plan.period_days < 0.5).any():
            notes.append(
                f"{path}: some sampled lead times are under half a period and are "
                "rounded up to one period"
            )

    lic_rows = plan.licences.event
    value = params.get("ev_value", np.zeros((n_rep, 0)))
    lic_delay = plan.periods_of_duration(value[:, lic_rows]).astype(np.int64)

    com_rows = plan.commissionings.event
    failed = np.zeros((n_rep, len(com_rows)), dtype=bool)
    for n, v in enumerate(com_rows):
        fail_p = params["ev_fail_p"][:, v]
        if fail_p.max() > 0.0:
            eid = plan.event_ids[v]
            failed[:, n] = uniforms(seed, replicates, draw_id_for(f"events[{eid}].fails")) < fail_p
    ramp = plan.periods_of_duration(value[:, com_rows]).astype(np.int64)

    out_fac, out_start, out_end = _sample_outages(
        plan, seed, replicates, params, start, end_days, happens
    )
    return Samples(
        replicates=replicates,
        params=params,
        ev_k0=k0,
        ev_k1=k1,
        ev_happens=happens,
        route_lead=lead,
        licence_delay=lic_delay,
        commission_failed=failed,
        commission_ramp=ramp,
        outage_fac=out_fac,
        outage_start=out_start,
        outage_end=out_end,
        warnings=notes,
    )


def _sample_outages(
    plan: Plan,
    seed: int,
    replicates: IntArray,
    params: dict[str, FloatArray],
    start: FloatArray,
    end_days: FloatArray,
    happens: BoolArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """Alternate exponential up times and sampled repair times, per (event, facility)."""
    never = plan.n_periods + 1
    horizon_days = plan.n_periods * plan.period_days
    pairs = [
        (int(v), int(f))
        for v, match in zip(plan.outages.event, plan.outages.match, strict=True)
        for f in np.flatnonzero(match)
    ]
    n_rep = len(replicates)
    if not pairs:  # no outage process: one "never" interval per replicate, no per-replicate loop
        none = np.full((n_rep, 0, 1), never, dtype=np.int64)
        return np.zeros(0, dtype=np.int64), none, none.copy()
    intervals: list[list[list[tuple[int, int]]]] = [[[] for _ in pairs] for _ in range(n_rep)]
    for p, (v, f) in enumerate(pairs):
        eid = plan.event_ids[v]
        repair = plan.outage_repair[v]
        draw = draw_id_for(f"events[{eid}].outages[{plan.facility_ids[f]}]")
        for n, i in enumerate(replicates):
            if not happens[n, v]:
                continue
            rate = params["ev_value"][n, v]
            rng = np.random.Generator(
                np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(int(i), draw)))
            )
            t = max(0.0, float(start[n, v]))
            stop = horizon_days if np.isnan(end_days[n, v]) else min(horizon_days, end_days[n, v])
            while rate > 0:
                t += rng.exponential(365.25 / rate)
                if t >= stop:
                    break
                down = float(
                    np.clip(repair.ppf(np.array([rng.random()]))[0], 0.0, np.inf)
                    if hasattr(repair, "ppf")
                    else repair
                )
                k_a = int(plan.period_of_day(t))
                k_b = int(plan.period_of_day(min(t + down, stop)))
                if k_b > k_a:
                    intervals[n][p].append((k_a, k_b))
                t += down
    width = max([1] + [len(iv) for rows in intervals for iv in rows])
    out_start = np.full((n_rep, len(pairs), width), never, dtype=np.int64)
    out_end = np.full((n_rep, len(pairs), width), never, dtype=np.int64)
    for n in range(n_rep):
        for p in range(len(pairs)):
            for m, (a, b_) in enumerate(intervals[n][p]):
                out_start[n, p, m] = a
                out_end[n, p, m] = b_
    return np.array([f for _, f in pairs], dtype=np.int64), out_start, out_end
