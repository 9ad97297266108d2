"""``engine="numba"``: the model compiled with numba, replicates in groups of lanes.

An optional backend (``pip install 'reesim[fast]'``) that gives the same
numbers as the vectorised core (:mod:`reesim.engine.vector`) — bit for bit
on the built-in scenarios, within the engine tolerance always — and fills the same
:class:`~reesim.engine.output.ChunkOutput`. The kernel itself lives in
:mod:`reesim.engine.compiled_kernel`; this module turns a plan and a chunk's
samples into the flat arrays it reads, runs it, and closes the mass ledger.

Replicates are independent, so a chunk is split into ranges of whole groups
of lanes that run in threads (the kernel releases the GIL); each replicate's
arithmetic is the same whatever thread or lane runs it, so results depend on
neither the thread count nor the chunk size. The thread count is numba's
(``NUMBA_NUM_THREADS`` or :func:`numba.set_num_threads`).

The first call compiles the kernel (25-30 s); the machine code is cached
next to the module, so later processes load it in about a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reesim.engine import compiled_kernel as K
from reesim.engine.compiled_kernel import run_replicates
from reesim.engine.output import ChunkOutput, new_output, sum_columns
from reesim.parallel import spread
from reesim.plan import Plan
from reesim.sampling import Samples

__all__ = ["run_numba", "kernel_args", "growth_table"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Exponents NumPy's ``power`` computes without ``pow`` when given as a scalar
#: (ones, copy, square root, square, reciprocal), as the core gives them: the
#: growth factors of those periods are taken that way too.
_FAST_EXPONENTS = (0.0, 0.5, 1.0, 2.0, -1.0)


def _c(x: Any, dtype: Any = np.float64) -> Any:
    """A C-contiguous array of ``dtype`` (one compiled signature for every chunk)."""
    return np.ascontiguousarray(x, dtype=dtype)


def _csr(match: NDArray[np.bool_]) -> tuple[IntArray, IntArray]:
    """Row pointers and column indices of the True entries of a rows x columns table."""
    counts = match.sum(axis=1) if match.size else np.zeros(len(match), dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    idx = np.nonzero(match)[1].astype(np.int64) if match.size else np.zeros(0, dtype=np.int64)
    return ptr, idx


def _groups(key: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """The distinct values of ``key`` with, for each, its positions in ascending order (CSR).

    Returns the values, the row pointers and the positions: the routes of
    group ``j`` (supplier or buyer ``values[j]``) are ``pos[ptr[j]:ptr[j + 1]]``.
    """
    values, counts = np.unique(key, return_counts=True)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    return _c(values, np.int64), _c(ptr, np.int64), _c(np.argsort(key, kind="stable"), np.int64)


def _first_true(match: NDArray[np.bool_]) -> IntArray:
    return np.array([int(np.flatnonzero(m)[0]) for m in match], dtype=np.int64)


def growth_table(plan: Plan, smp: Samples) -> tuple[IntArray, FloatArray]:
    """Demand growth factors ``growth ** (k * dt)`` as the vectorised core computes them.

    Returns the index [R, S] of each sink's growth rate among the distinct
    rates, and the factors [N, distinct rates]. NumPy's power gives the same
    result for the same pair of numbers wherever they sit in an array (and
    the C library's ``pow`` does not always), so it is taken here, once per
    distinct rate and period; exponents that NumPy treats specially when they
    come as a scalar are redone the core's way.
    """
    growth = 1.0 + smp.params["sink_growth_pct"] / 100.0
    rates, which = np.unique(growth, return_inverse=True)
    exponent = np.arange(plan.n_periods) * plan.dt
    power = rates[None, :] ** exponent[:, None]
    for k in np.flatnonzero(np.isin(exponent, _FAST_EXPONENTS)):
        power[k] = rates ** (int(k) * plan.dt)
    return _c(which.reshape(growth.shape), np.int64), _c(power)


def _commissioning(plan: Plan, smp: Samples) -> tuple[IntArray, Any, FloatArray]:
    """Facility, failure and share of nameplate [R, N, rows] of each commissioning.

    ``share * curve(u)`` from period k0 on (0 before it or when the plant
    fails), computed as the vectorised core does, ``3 u**2 - 2 u**3`` included.
    """
    v = plan.commissionings.event
    n_rep, n = smp.n, plan.n_periods
    failed = _c(smp.commission_failed, np.bool_)
    if not len(v):
        return np.zeros(0, dtype=np.int64), failed, np.zeros((n_rep, n, 0))
    k = np.arange(n)[None, :, None]
    start = smp.ev_k0[:, v][:, None, :]
    exists = (k >= start) & ~smp.commission_failed[:, None, :]
    u = np.clip(np.minimum(1.0, (k - start + 1) / smp.commission_ramp[:, None, :]), 0.0, 1.0)
    curve = np.where(plan.ramp_scurve[None, None, :], 3 * u**2 - 2 * u**3, u)
    share = smp.params["ev_share"][:, v][:, None, :]
    factor = np.where(exists, share * curve, 0.0)
    return _first_true(plan.commissionings.match), failed, _c(factor)


def _rule_changes(plan: Plan, smp: Samples, com_factor: FloatArray) -> NDArray[np.bool_]:
    """Periods whose capacities or route rules can differ from the period before [R, N].

    Those of period 0, and of any period where an event starts or ends, an
    outage begins or ends, or a commissioning ramp moves; in every other
    period the kernel keeps the last period's (the same values, without the
    work).
    """
    n = plan.n_periods
    mark = smp.edge_periods(n)
    if com_factor.shape[2]:
        mark[:, 1:n] |= (com_factor[:, 1:] != com_factor[:, :-1]).any(axis=2)
    mark[:, 0] = True
    return _c(mark, np.bool_)


def _shifts(plan: Plan, smp: Samples) -> dict[str, Any]:
    """Route and event [2, n], and ramp length and weight change [R, 2, n] of each shift row.

    Each (shift, route) row moves the weight from the value the previous row
    of that route set (or the base weight); a shift without end is a step.
    """
    p, n_rep = smp.params, smp.n
    n_shift = len(plan.shift_param)
    route = _first_true(plan.shifts.match)
    delta = np.zeros((n_rep, n_shift))
    current = p["route_weight"].copy()
    for j in range(n_shift):
        e = route[j]
        new = p["shift_weight"][:, plan.shift_param[j]]
        delta[:, j] = new - current[:, e]
        current[:, e] = new
    v = plan.shifts.event
    k0, k1 = smp.ev_k0[:, v], smp.ev_k1[:, v]
    has_end = k1 <= plan.n_periods
    length = np.where(has_end & (k1 > k0), k1 - k0, 1).astype(np.float64)
    return {
        "shifts": _c([route, v], np.int64).reshape(2, -1),
        "shift_par": _c(np.stack([length, delta], axis=1)),
    }


def _rules(plan: Plan) -> tuple[IntArray, IntArray, IntArray]:
    """Route rules (bans, licences, domestic priorities, quotas) with the routes each touches.

    Returns the [3, n] table (kind, event, quota index) and the row pointers
    and route indices of the matches; each row's routes are in route order.
    """
    kinds = [
        (K.BAN, plan.bans),
        (K.LICENCE, plan.licences),
        (K.PRIORITY, plan.priorities),
        (K.QUOTA_RULE, plan.quotas),
    ]
    table, matches = [], []
    for kind, t in kinds:
        for row, v in enumerate(t.event):
            table.append((kind, int(v), row if kind == K.QUOTA_RULE else -1))
            matches.append(t.match[row])
    ptr, idx = _csr(np.array(matches, dtype=bool).reshape(len(matches), plan.n_routes))
    return _c(np.array(table, dtype=np.int64).reshape(-1, 3).T, np.int64), ptr, idx


def _event_values(plan: Plan, smp: Samples) -> FloatArray:
    """Per event the one number the kernel reads [R, V].

    The capacity factor of a capacity change, the licence delay in periods,
    the tonnes per period of a quota or a release; anything else unchanged.
    """
    value = smp.params.get("ev_value", np.zeros((smp.n, plan.n_events))).copy()
    value[:, plan.licences.event] = smp.licence_delay.astype(np.float64)
    for rows in (plan.quotas.event, plan.releases.event):
        value[:, rows] = value[:, rows] * plan.dt
    return _c(value)


def kernel_args(
    plan: Plan, smp: Samples, record: frozenset[str], out: ChunkOutput
) -> dict[str, Any]:
    """Every argument of :func:`~reesim.engine.compiled_kernel.run_replicates` but the range.

    Plain arrays, grouped by what they index, with named rows (the constants
    of :mod:`~reesim.engine.compiled_kernel`); numba compiles plain arrays
    several times faster than tuples of them.

    ``lanes``: replicates side by side (``LANES``, twice that for networks
    of a few routes, :func:`~reesim.engine.compiled_kernel.lanes_for`; an
    argument so that the kernel's lane loops have a trip count known only
    at run time, which LLVM vectorises). Network: ``routes`` [5, E] (supplier and buyer
    holding, supplier facility, from a stockpile, priority class as an
    index into the ``n_levels`` classes, 0 served first), ``facs`` [2, F],
    ``in_ptr`` [F + 1] (the inputs of
    facility f are ``in_ptr[f]:in_ptr[f + 1]``), ``inputs`` [2, n_in],
    ``coproducts`` [2, n_co], ``sink_h``, ``is_buyer`` [H]; the routes grouped
    by supplier holding (``suppliers``, ``src_ptr``, ``src_routes``) and by
    buyer holding (``dst_list``, ``dst_ptr``, ``dst_routes``), in route order
    within a group; without domestic-priority events (``flags[FIXED_CLASSES]``)
    each supplier's routes are ordered by class, route order within a class,
    and class ``c`` of supplier ``j`` is ``src_class[j, c]:src_class[j, c + 1]``.
    Per replicate (first axis R): ``fac_par`` [R, 2, F], ``route_par``
    [R, 3, E], ``route_lead`` [R, E] (whole periods), ``in_amount``,
    ``co_amount``, ``cover`` and ``hold_init`` [R, H], ``d0`` [R, S] and
    ``growth_ix`` [R, S] into ``growth_pow`` [N, rates]. Events: ``k0``,
    ``k1`` and ``value`` [R, V] (the capacity or demand factor, the licence
    delay in periods, a quota's or a release's tonnes per period), ``share``
    [R, V] (approval shares); demand changes ``dc`` with ``dc_match`` [n, S];
    route rules ``rules`` [3, n] (kind, event, quota) with ``rule_ptr`` and
    ``rule_routes``; capacity changes ``cc`` with ``cc_ptr`` and ``cc_facs``;
    commissionings ``com`` [2, n], ``com_failed``, ``com_factor`` [R, N, n];
    outages ``out_fac``, ``out_start`` and ``out_end`` [R, P, M]; releases
    ``rel`` [3, n], ``rel_below``, ``rel_cond`` [n, S]; sourcing shifts
    ``shifts`` [2, n] and ``shift_par`` [R, 2, n]; ``changes`` [R, N]. Results:
    the series of ``out`` (``want`` is its demand, filled by the kernel),
    ``hold_res`` [R, 2, H] and ``route_res`` [R, 2, E] (start, end),
    ``fac_res`` [R, 3, F], ``total_served`` [R, S], ``copied`` [R] (periods
    that repeated the last one and were copied, ``flags[COPY]``) and ``falls``
    [R, S] (served less than demand in some period).
    """
    p, n_rep, n_h = smp.params, smp.n, plan.n_holdings
    if np.any(np.diff(plan.in_fac) < 0):
        raise ValueError("plan.in_fac must list each facility's inputs together")
    is_buyer = np.zeros(n_h, dtype=bool)
    is_buyer[plan.in_h] = True
    is_buyer[plan.sink_h] = True
    cover = np.zeros((n_rep, n_h))
    cover[:, plan.in_h] = p["in_cover_weeks"] * 7.0 / plan.period_days
    cover[:, plan.sink_h] = p["sink_cover_weeks"] * 7.0 / plan.period_days
    # Priority classes that occur, served in order; class 0 exists only under a
    # domestic priority, and is then the first.
    extra = [0] if len(plan.priorities.event) else []
    levels = np.unique(np.concatenate([extra, plan.route_priority]).astype(np.int64))
    route_class = np.searchsorted(levels, plan.route_priority)
    max_delay = int(smp.licence_delay.max()) if smp.licence_delay.size else 0
    max_lead = int(smp.route_lead.max()) if smp.route_lead.size else 1
    rules, rule_ptr, rule_routes = _rules(plan)
    cc_ptr, cc_facs = _csr(plan.capacity_changes.match)
    com_fac, com_failed, com_factor = _commissioning(plan, smp)
    rel = plan.releases
    suppliers, src_ptr, src_routes = _groups(plan.route_src_h)
    fixed_classes = not len(plan.priorities.event)
    src_class = np.zeros((len(suppliers), len(levels) + 1), dtype=np.int64)
    if fixed_classes:  # each supplier's routes by class, in route order within a class
        src_routes = _c(np.lexsort((route_class, plan.route_src_h)), np.int64)
        for j in range(len(suppliers)):
            own = route_class[src_routes[src_ptr[j] : src_ptr[j + 1]]]
            src_class[j] = src_ptr[j] + np.searchsorted(own, np.arange(len(levels) + 1))
    dst_list, dst_ptr, dst_routes = _groups(plan.route_dst_h)
    growth_ix, growth_pow = growth_table(plan, smp)
    none3 = np.zeros((0, 0, 0))
    return {
        "lanes": K.lanes_for(plan.n_routes),
        "flags": _c(
            [
                "production" in record,
                "flows" in record,
                "inventory" in record,
                len(plan.licences.event) > 0,
                fixed_classes,
                # Periods may repeat the last one (and are then copied) only under flat
                # demand; where it grows, looking for repeats would be work for nothing.
                bool(np.all(growth_pow == growth_pow[:1])),
            ],
            np.bool_,
        ),
        "routes": _c(
            [
                plan.route_src_h,
                plan.route_dst_h,
                plan.route_src_fac,
                plan.route_from_stockpile,
                route_class,
            ],
            np.int64,
        ),
        "route_lead": _c(smp.route_lead, np.int64),
        "facs": _c([plan.fac_out_h, plan.fac_is_stockpile], np.int64),
        "in_ptr": _c(np.searchsorted(plan.in_fac, np.arange(plan.n_facilities + 1)), np.int64),
        "inputs": _c([plan.in_fac, plan.in_h], np.int64).reshape(2, -1),
        "coproducts": _c([plan.co_fac, plan.co_h], np.int64).reshape(2, -1),
        "sink_h": _c(plan.sink_h, np.int64),
        "is_buyer": _c(is_buyer, np.bool_),
        "suppliers": suppliers,
        "src_ptr": src_ptr,
        "src_routes": src_routes,
        "src_class": src_class,
        "dst_list": dst_list,
        "dst_ptr": dst_ptr,
        "dst_routes": dst_routes,
        "n_levels": len(levels),
        "ring_len": max_lead + max_delay + 1,
        "n_quota": len(plan.quotas.event),
        "dt": float(plan.dt),
        "fac_par": _c(
            np.stack(
                [p["fac_capacity"], p["fac_output_cap_weeks"] * 7.0 / plan.period_days], axis=1
            )
        ),
        "route_par": _c(
            np.stack(
                [
                    p["route_weight"],
                    p["route_capacity"] * plan.dt,
                    smp.route_lead.astype(np.float64),
                ],
                axis=1,
            )
        ),
        "in_amount": _c(p["in_amount"]),
        "co_amount": _c(p["co_amount"]),
        "cover": _c(cover),
        "hold_init": _c(p["hold_init"]),
        "want": out.demand,
        "d0": _c(p["sink_demand"]),
        "growth_ix": growth_ix,
        "growth_pow": growth_pow,
        "dc": _c(plan.demand_changes.event, np.int64),
        "dc_match": _c(plan.demand_changes.match, np.bool_),
        "k0": _c(smp.ev_k0, np.int64),
        "k1": _c(smp.ev_k1, np.int64),
        "value": _event_values(plan, smp),
        "share": _c(p.get("ev_share", np.ones((n_rep, plan.n_events)))),
        "rules": rules,
        "rule_ptr": rule_ptr,
        "rule_routes": rule_routes,
        "cc": _c(plan.capacity_changes.event, np.int64),
        "cc_ptr": cc_ptr,
        "cc_facs": cc_facs,
        "com": _c([com_fac, plan.commissionings.event], np.int64).reshape(2, -1),
        "com_failed": com_failed,
        "com_factor": com_factor,
        "out_fac": _c(smp.outage_fac, np.int64),
        "out_start": _c(smp.outage_start, np.int64),
        "out_end": _c(smp.outage_end, np.int64),
        "rel": _c(
            [_first_true(rel.match), rel.event, ~np.isnan(plan.release_below)], np.int64
        ).reshape(3, -1),
        "rel_below": _c(np.nan_to_num(plan.release_below, nan=1.0)),
        "rel_cond": _c(plan.release_cond, np.bool_),
        **_shifts(plan, smp),
        "changes": _rule_changes(plan, smp, com_factor),
        "served": out.served,
        "production": none3 if out.production is None else out.production,
        "departures": none3 if out.departures is None else out.departures,
        "arrivals": none3 if out.arrivals is None else out.arrivals,
        "inventory": none3 if out.inventory is None else out.inventory,
        "in_transit": none3 if out.in_transit is None else out.in_transit,
        "hold_res": np.zeros((n_rep, 2, n_h)),
        "route_res": np.zeros((n_rep, 2, plan.n_routes)),
        "fac_res": np.zeros((n_rep, 3, plan.n_facilities)),
        "total_served": np.zeros((n_rep, plan.n_sinks)),
        "copied": np.zeros(n_rep, dtype=np.int64),
        "falls": np.zeros((n_rep, plan.n_sinks), dtype=np.bool_),
    }


def run_numba(
    plan: Plan,
    smp: Samples,
    record: frozenset[str],
    *,
    series: Mapping[str, FloatArray] | None = None,
) -> ChunkOutput:
    """Run one chunk of replicates through every period with the compiled kernel.

    Parameters
    ----------
    plan
        The compiled scenario.
    smp
        The chunk's sampled values (:func:`reesim.sampling.draw_samples`).
    record
        Series to keep: any of ``sinks``, ``production``, ``flows``, ``inventory``.
    series
        Arrays to write series into instead of fresh ones, by name
        (:meth:`reesim.engine.output.ChunkOutput.empty`); every value is written.

    Returns
    -------
    ChunkOutput
        The same series and mass ledger as :func:`reesim.engine.vector.run_vector`.
    """
    n_rep = smp.n
    start_stock, start_transit = (
        np.zeros((n_rep, plan.n_holdings)),
        np.zeros((n_rep, plan.n_routes)),
    )
    out = new_output(plan, smp, record, start_stock, start_transit, [], series)
    args = kernel_args(plan, smp, record, out)
    # Threads of at least one whole group of lanes each (fewer replicates are not worth
    # starting a thread for); only the last range has a partial group.
    lanes = int(args["lanes"])
    spread(n_rep, n_rep // lanes, lambda lo, hi: run_replicates(lo, hi, **args), align=lanes)

    hold, route, fac = args["hold_res"], args["route_res"], args["fac_res"]
    out.ledger["initial"] = out._per_commodity(hold[:, K.START]) + out._per_route_commodity(
        route[:, K.START]
    )
    out.warnings = _start_warnings(plan, fac[:, K.DEFICIT], fac[:, K.CAP0])
    _close_ledger(plan, smp, out, fac[:, K.TOTAL_ACT], args["total_served"])
    out.finish(hold[:, K.END], route[:, K.END])
    out.falls = args["falls"]
    return out


def _start_warnings(plan: Plan, deficit: FloatArray, cap_dt: FloatArray) -> list[str]:
    """Facilities that cannot meet their steady demand in period 0 (same text as the core)."""
    warnings = []
    short = deficit > 1e-9 * np.maximum(cap_dt, 1e-300)
    for f in np.flatnonzero(short.any(axis=0)):
        worst = float(deficit[:, f].max() / plan.dt)
        warnings.append(
            f"facility '{plan.facility_ids[f]}' cannot meet its steady demand at the start: "
            f"short by up to {worst:,.0f} t/yr (reported as pre-disruption shortage)"
        )
    return warnings


def _close_ledger(
    plan: Plan, smp: Samples, out: ChunkOutput, act: FloatArray, served: FloatArray
) -> None:
    """Turn summed activity and sales into the ledger's tonnes per holding."""
    p = smp.params
    hold = out._hold
    hold["produced"][:, plan.fac_out_h] = np.where(plan.fac_is_stockpile, 0.0, act)
    hold["produced"][:, plan.co_h] = act[:, plan.co_fac] * p["co_amount"]
    hold["consumed"][:, plan.in_h] = act[:, plan.in_fac] * p["in_amount"]
    hold["served"][:, plan.sink_h] = served
    made_by = act[:, plan.by_fac] * p["by_amount"]
    hold["byproduct"] += sum_columns(made_by, plan.by_commodity, len(plan.commodity_ids))
