"""Per-period network state for the vectorised core (step 1 of the period).

Given the plan, a chunk's samples and the period ``k``, compute as whole
arrays over replicates: capacities, demand, route openness, weights,
licence delays and caps, priority classes, quota and release status. The
period loop in :mod:`reesim.engine.vector` calls :meth:`StateBuilder.at`.

The arrays handed to the core are [X, R] (a row per facility, sink or route,
a column per replicate), the core's layout; the rarely recomputed parts are
worked out over [R, X] as the samples come and transposed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reesim.engine.rows import few_enough_to_patch, transposed, with_columns
from reesim.plan import Plan
from reesim.sampling import Samples

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

#: Tolerance of every "below a share" comparison (fill rates, thresholds).
SHARE_TOL = 1e-9


class GroupSum:
    """Sums columns of an [R, X] array into [R, n] groups with one bincount.

    ``np.add.at`` is slow; a flattened ``bincount`` over precomputed indices
    is the fastest scatter-add NumPy offers.
    """

    def __init__(self, n_rep: int, index: IntArray, n_groups: int) -> None:
        self.shape = (n_rep, n_groups)
        self.flat = (np.arange(n_rep)[:, None] * n_groups + index[None, :]).ravel()
        self.size = n_rep * n_groups

    def __call__(self, values: FloatArray) -> FloatArray:
        out = np.bincount(self.flat, weights=values.ravel(), minlength=self.size)
        return np.asarray(out, dtype=np.float64).reshape(self.shape)


@dataclass
class PeriodState:
    """The state of one period after its events are applied (MODEL section 5, step 1).

    Every array is [X, R]: one row per facility (F), sink (S), route (E) or
    quota, one column per replicate. ``version`` changes whenever the
    event-driven part (capacities, route rules, quotas) is recomputed, so
    the core can keep what it derives from them until then.
    """

    version: int
    capacity_dt: FloatArray  # [F, R] t per period
    alive: BoolArray  # [F, R] commissioned and not failed
    want: FloatArray  # [S, R] demand this period, t
    weight: FloatArray  # [E, R]
    banned: BoolArray  # [E, R]
    delay: FloatArray  # [E, R] licence delay in periods (0 when none)
    delay_int: IntArray  # [E, R] the same, as whole periods
    licensed: BoolArray  # [E, R] under an active licence
    any_licensed: bool  # any route of any replicate under a licence
    approval: FloatArray  # [E, R] smallest approval share of active licences
    klass: FloatArray  # [E, R] priority class (0 = domestic priority)
    quota_active: BoolArray  # [n_quota, R]
    quota_dt: FloatArray  # [n_quota, R] t per period
    release_rate_dt: FloatArray  # [F, R] push per period of each releasing stockpile
    releasing: BoolArray  # [F, R]


def _active(k: int, k0: IntArray, k1: IntArray) -> BoolArray:
    return (k >= k0) & (k < k1)


class StateBuilder:
    """Computes :class:`PeriodState` for any period of one chunk."""

    def __init__(self, plan: Plan, smp: Samples) -> None:
        self.plan = plan
        self.smp = smp
        p = smp.params
        n_rep = smp.n
        self.n_rep = n_rep
        self.capacity = p["fac_capacity"]
        self.d0_t = transposed(p["sink_demand"])
        # Demand growth factors: NumPy's power gives the same result for the same pair
        # of numbers wherever they sit, so it is taken once per distinct rate.
        growth = 1.0 + p["sink_growth_pct"] / 100.0
        self.rates, which = np.unique(growth, return_inverse=True)
        self.rate_of = transposed(which.reshape(growth.shape))
        # When each sink grows at one rate in every replicate (the rate is not sampled),
        # a column of factors broadcast over the replicates replaces the gather.
        self.rate_col: IntArray | None = None
        if (self.rate_of == self.rate_of[:, :1]).all():
            self.rate_col = self.rate_of[:, :1]
        self.w0 = p["route_weight"]
        self.w0_t = transposed(self.w0)
        self.version = 0

        ev = lambda table: table.event  # noqa: E731
        self.cc_rows = ev(plan.capacity_changes)
        self.dc_rows = ev(plan.demand_changes)
        value = p.get("ev_value", np.zeros((n_rep, 0)))
        share = p.get("ev_share", np.ones((n_rep, 0)))
        self.value = value
        self.share = share

        # Commissioning: one row per facility.
        self.com_fac = np.array(
            [int(np.flatnonzero(m)[0]) for m in plan.commissionings.match], dtype=np.int64
        )
        # Sourcing shifts: the weight each (shift, route) row moves from, chained per route
        # in declaration order, and the ramp length (at least one period; a shift without
        # end is a step).
        n_shift = len(plan.shift_param)
        self.shift_route = np.array(
            [int(np.flatnonzero(m)[0]) for m in plan.shifts.match], dtype=np.int64
        )
        self.shift_delta = np.zeros((n_rep, n_shift))
        current = self.w0.copy()
        for n in range(n_shift):
            e = self.shift_route[n]
            new = p["shift_weight"][:, plan.shift_param[n]]
            self.shift_delta[:, n] = new - current[:, e]
            current[:, e] = new
        if n_shift:
            v = plan.shifts.event
            k0, k1 = smp.ev_k0[:, v], smp.ev_k1[:, v]
            has_end = k1 <= plan.n_periods
            self.shift_k0 = k0
            self.shift_len = np.where(has_end & (k1 > k0), k1 - k0, 1).astype(np.float64)
            self.shift_sum = GroupSum(n_rep, self.shift_route, plan.n_routes)
        self.out_sum = GroupSum(n_rep, smp.outage_fac, plan.n_facilities)
        rel_fac = np.array([int(np.flatnonzero(m)[0]) for m in plan.releases.match], dtype=np.int64)
        self.rel_fac = rel_fac
        self.rel_sum = GroupSum(n_rep, rel_fac, plan.n_facilities)
        self.rel_has_cond = ~np.isnan(plan.release_below)
        # Priority classes that can occur: class 0 only exists under a domestic priority.
        extra = [0] if len(plan.priorities.event) else []
        self._cache: tuple[BoolArray, BoolArray | None, dict[str, Any]] | None = None
        self._may_change = self._change_periods()
        self.levels = np.unique(np.concatenate([extra, plan.route_priority])).astype(np.float64)

    def at(self, k: int, prev_fill: FloatArray) -> PeriodState:
        """State of period ``k``; ``prev_fill`` [n_release, R] is last period's fill rate."""
        plan, smp = self.plan, self.smp
        k0, k1 = smp.ev_k0, smp.ev_k1
        static = self._static(k)

        factors = self.rates ** (k * plan.dt)
        growth = np.take(factors, self.rate_of if self.rate_col is None else self.rate_col)
        want = self.d0_t * growth * plan.dt
        if len(self.dc_rows):
            act = _active(k, k0[:, self.dc_rows], k1[:, self.dc_rows])
            factor = np.where(act, self.value[:, self.dc_rows], 1.0)
            want = want * transposed(
                np.prod(
                    np.where(plan.demand_changes.match[None, :, :], factor[:, :, None], 1.0),
                    axis=1,
                )
            )

        weight = self.w0_t
        if len(plan.shift_param):
            frac = np.clip((k - self.shift_k0 + 1) / self.shift_len, 0.0, 1.0)
            weight = transposed(self.w0 + self.shift_sum(frac * self.shift_delta))

        r = plan.releases.event
        if len(r):
            holds = _active(k, k0[:, r], k1[:, r])
            below = np.nan_to_num(plan.release_below, nan=1.0)
            fill = prev_fill.T  # [R, n_release]
            holds &= ~self.rel_has_cond[None, :] | (fill < below[None, :] - 1e-9)
            rate_dt = self.rel_sum(np.asarray(holds * self.value[:, r] * plan.dt, dtype=np.float64))
            releasing = self.rel_sum(np.asarray(holds, dtype=np.float64)) > 0
            static = {**static, "release_rate_dt": transposed(rate_dt)}
            static["releasing"] = transposed(releasing)
        return PeriodState(want=want, weight=weight, **static)

    def _change_periods(self) -> BoolArray:
        """[N] periods in which some replicate's event-driven state may change.

        Those where an event starts or ends, an outage begins or ends, or a
        commissioning ramp runs, in any replicate of the chunk. Elsewhere
        :meth:`_static` keeps the last result without comparing anything.
        """
        plan, smp = self.plan, self.smp
        n = plan.n_periods
        mark: BoolArray = np.any(smp.edge_periods(n), axis=0)
        if len(self.com_fac):
            # Ramping periods [start, start + ramp): +1 at the start, -1 after, summed up.
            start = smp.ev_k0[:, plan.commissionings.event].reshape(-1)
            end = start + smp.commission_ramp.reshape(-1)
            steps = np.zeros(n + 2, dtype=np.int64)
            np.add.at(steps, np.clip(start, 0, n + 1), 1)
            np.add.at(steps, np.clip(end, 0, n + 1), -1)
            mark |= np.cumsum(steps)[:n] > 0
        mark[0] = True
        return mark

    def _static(self, k: int) -> dict[str, Any]:
        """Capacities, route rules and quotas of period ``k``.

        They change only when an event starts or ends, an outage begins or
        ends, or a commissioning ramp moves, so the last result is reused
        until one of those happens (most periods of most runs).
        """
        cached = self._cache
        if cached is not None and not self._may_change[k]:
            return cached[2]
        plan, smp = self.plan, self.smp
        k0, k1 = smp.ev_k0, smp.ev_k1
        active = (k >= k0) & (k < k1)
        down = None
        if smp.outage_start.shape[1]:
            down = np.asarray(
                ((k >= smp.outage_start) & (k < smp.outage_end)).any(axis=2), dtype=bool
            )
        ramping = False
        if len(self.com_fac):
            start = k0[:, plan.commissionings.event]
            ramping = bool(((k >= start) & (k - start < smp.commission_ramp)).any())
        static = None
        if cached is not None and not ramping:
            # Outside commissioning ramps a replicate's capacities and route rules
            # depend only on which of its events are active and which facilities are
            # down: replicates whose flags did not move keep their columns.
            moved = (active != cached[0]).any(axis=1)
            if down is not None and cached[1] is not None:
                moved |= (down != cached[1]).any(axis=1)
            rows = np.flatnonzero(moved)
            if not rows.size:
                return cached[2]
            if few_enough_to_patch(rows.size, self.n_rep):
                static = self._patch(cached[2], k, rows, down)
        if static is None:
            static = self._compute_static(k, down)
        self.version += 1
        static["version"] = self.version
        self._cache = (active, down, static)
        return static

    def _patch(
        self, old: dict[str, Any], k: int, rows: IntArray, down: BoolArray | None
    ) -> dict[str, Any]:
        """``old`` with the columns of replicates ``rows`` recomputed for period ``k``.

        Every value is computed replicate by replicate, so the patched columns
        equal what :meth:`_compute_static` gives for the whole chunk.
        """
        part = self._compute_static(k, None if down is None else down[rows], rows)
        new = dict(old)
        # An array whose patched columns did not change stays the same array, so what
        # the core derived from it still holds. The release arrays are zeros here;
        # at() replaces them when releases exist.
        for key, value in old.items():
            if (
                isinstance(value, np.ndarray)
                and key not in ("release_rate_dt", "releasing")
                and not np.array_equal(value[:, rows], part[key])
            ):
                new[key] = with_columns(value, rows, part[key])
        new["any_licensed"] = bool(new["licensed"].any())
        return new

    def _compute_static(
        self, k: int, down: BoolArray | None, rows: IntArray | None = None
    ) -> dict[str, Any]:
        """Capacities, route rules and quotas of period ``k``, for ``rows`` (None: all).

        ``down`` holds the outage flags of those replicates only.
        """
        plan, smp = self.plan, self.smp
        n_fac = plan.n_facilities
        sel: IntArray | slice = slice(None) if rows is None else rows
        n_rep = self.n_rep if rows is None else len(rows)
        k0, k1 = smp.ev_k0[sel], smp.ev_k1[sel]
        share, value = self.share[sel], self.value[sel]

        cap = self.capacity[sel].copy()
        alive = np.ones((n_rep, n_fac), dtype=bool)
        if len(self.com_fac):
            v = plan.commissionings.event
            start = k0[:, v]
            exists = (k >= start) & ~smp.commission_failed[sel]
            u = np.clip(np.minimum(1.0, (k - start + 1) / smp.commission_ramp[sel]), 0.0, 1.0)
            curve = np.where(plan.ramp_scurve[None, :], 3 * u**2 - 2 * u**3, u)
            cap[:, self.com_fac] *= np.where(exists, share[:, v] * curve, 0.0)
            alive[:, self.com_fac] = exists
        if len(self.cc_rows):
            act = _active(k, k0[:, self.cc_rows], k1[:, self.cc_rows])
            factor = np.where(act, value[:, self.cc_rows], 1.0)
            cap *= np.prod(
                np.where(plan.capacity_changes.match[None, :, :], factor[:, :, None], 1.0), axis=1
            )
        if down is not None:
            out_sum = self.out_sum if rows is None else GroupSum(n_rep, smp.outage_fac, n_fac)
            cap *= out_sum(np.asarray(down, dtype=np.float64)) == 0

        banned = self._any_route(plan.bans.event, plan.bans.match, k, k0, k1)
        lic = plan.licences
        if len(lic.event):
            act = _active(k, k0[:, lic.event], k1[:, lic.event])
            on = act[:, :, None] & lic.match[None, :, :]
            licensed = np.asarray(on.any(axis=1), dtype=bool)
            lic_delay = smp.licence_delay[sel]
            delay = np.where(on, lic_delay[:, :, None], 0).max(axis=1).astype(np.float64)
            approval = np.where(on, share[:, lic.event][:, :, None], 1.0).min(axis=1)
        else:
            licensed = np.zeros((n_rep, plan.n_routes), dtype=bool)
            delay = np.zeros((n_rep, plan.n_routes))
            approval = np.ones((n_rep, plan.n_routes))
        domestic = self._any_route(plan.priorities.event, plan.priorities.match, k, k0, k1)
        klass = np.where(domestic, 0.0, plan.route_priority[None, :].astype(np.float64))
        q = plan.quotas.event
        return {
            "capacity_dt": transposed(cap * plan.dt),
            "alive": transposed(alive),
            "banned": transposed(banned),
            "delay": transposed(delay),
            "delay_int": transposed(delay.astype(np.int64)),
            "licensed": transposed(licensed),
            "any_licensed": bool(licensed.any()),
            "approval": transposed(approval),
            "klass": transposed(klass),
            "quota_active": transposed(_active(k, k0[:, q], k1[:, q])),
            "quota_dt": transposed(value[:, q] * plan.dt),
            # Without releases these stay as they are; with them, at() replaces them.
            "release_rate_dt": np.zeros((n_fac, n_rep)),
            "releasing": np.zeros((n_fac, n_rep), dtype=bool),
        }

    def _any_route(
        self, rows: IntArray, match: BoolArray, k: int, k0: IntArray, k1: IntArray
    ) -> BoolArray:
        """[R, E] routes matched by any of the events ``rows`` active in period ``k``.

        ``k0`` and ``k1`` [R, V] are the replicates' event start and end periods.
        """
        if not len(rows):
            return np.zeros((k0.shape[0], self.plan.n_routes), dtype=bool)
        act = _active(k, k0[:, rows], k1[:, rows])
        return (act.astype(np.float64) @ match.astype(np.float64)) > 0
