"""simulate(): compile, sample, run an engine chunk by chunk, collect results."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from reesim.engine import get_engine
from reesim.engine.output import RECORDABLE, ChunkOutput, series_widths
from reesim.errors import ReesimError, ReesimWarning
from reesim.metrics import falls_short, shortage_metrics
from reesim.plan import Plan, compile_plan
from reesim.results import GROUPINGS, Results
from reesim.sampling import draw_samples
from reesim.scenario.model import Scenario

__all__ = ["simulate", "resolve_record", "default_chunk_size"]

#: Memory the series of one chunk may take, bytes.
CHUNK_BUDGET = 64 * 2**20
#: Largest default chunk, replicates.
MAX_CHUNK = 16_384
#: Recorded sink series kept across chunks under record="auto", bytes.
AUTO_RECORD_BUDGET = 512 * 2**20

Progress = Callable[[int, int], None]

#: Replicate-period rows summed at a time into sink groups (a block of a few
#: dozen sinks stays in the cache).
_GROUP_BLOCK = 2048


def resolve_record(
    record: str | list[str] | tuple[str, ...] | None, plan: Plan, replicates: int
) -> frozenset[str]:
    """Turn the ``record`` argument into the set of series to keep.

    ``"auto"`` keeps the sink series when they fit in 512 MiB, ``"all"`` keeps
    every series, ``"none"`` (or None) only the metrics and ledgers.
    """
    if record is None or record == "none":
        return frozenset()
    if record == "all":
        return frozenset(RECORDABLE)
    if record == "auto":
        size = replicates * plan.n_periods * plan.n_sinks * 2 * 8
        return frozenset({"sinks"}) if size <= AUTO_RECORD_BUDGET else frozenset()
    names = [record] if isinstance(record, str) else list(record)
    unknown = [n for n in names if n not in RECORDABLE]
    if unknown:
        raise ReesimError(
            f"record: unknown series {unknown}; choose from {list(RECORDABLE)}, 'all', 'auto' or 'none'"
        )
    return frozenset(names)


def default_chunk_size(plan: Plan, record: frozenset[str], engine: str = "vector") -> int:
    """Replicates per chunk: one chunk's series and engine state stay near 64 MiB.

    The vectorised core pays NumPy's fixed cost per call once per chunk and
    period, so small networks run fastest in large chunks (the 365-day peer
    chain is 1.4 times faster per replicate at 16,384 than at 1,024); large
    networks reach the memory budget first, and gain nothing past a thousand
    or so. 16,384 is the largest default. The vectorised core holds its state
    for the whole chunk; the numba engine holds it for 32 replicates per
    thread, so only its series count and its chunks can be larger.
    """
    per_period = 2 * plan.n_sinks
    if "production" in record:
        per_period += plan.n_facilities
    per_period += 2 * plan.n_routes if "flows" in record else 0
    per_period += 2 * plan.n_holdings if "inventory" in record else 0
    state = 0.0  # numba keeps its state for 32 replicates per thread, not for the chunk
    if engine != "numba":
        # The core's state: the in-transit ring (lead times plus licence delays, in
        # periods), counted twice (departures by period and the indices that read
        # them), and a few dozen working arrays over routes, holdings and facilities.
        lead = plan.params["route_lead_days"]
        ring = 1 + (float(lead.max()) / plan.period_days if lead.size else 1.0)
        delays = plan.params.get("ev_value", np.zeros(0))[plan.licences.event]
        ring += float(np.nansum(delays)) / plan.period_days if delays.size else 0.0
        arrays = plan.n_routes + plan.n_holdings + plan.n_facilities
        state = 2 * ring * plan.n_routes + 40 * arrays
    per_rep = max(1.0, (per_period * max(1, plan.n_periods) + state) * 8)
    return int(np.clip(CHUNK_BUDGET // per_rep, 16, MAX_CHUNK))


def simulate(
    scenario: Scenario | str | os.PathLike[str],
    replicates: int = 1000,
    seed: int | None = None,
    *,
    engine: Literal["vector", "des"] | str = "vector",
    chunk_size: int | None = None,
    record: str | list[str] | None = "auto",
    progress: bool | Progress | None = None,
) -> Results:
    """Run Monte Carlo replicates of a scenario.

    Parameters
    ----------
    scenario
        A :class:`~reesim.Scenario`, a path to a TOML file, or a built-in name.
    replicates
        Number of replicates (>= 1).
    seed
        Non-negative integer. None draws fresh entropy; the seed used is kept
        in ``Results.seed`` so the run can be repeated.
    engine
        ``"vector"`` (the vectorised core) or ``"des"`` (the SimPy reference).
    chunk_size
        Replicates per chunk; results do not depend on it. Default: sized so
        one chunk's arrays stay near 64 MiB, then evened out so that every
        chunk has about the same number of replicates.
    record
        Series to keep besides the metrics: ``"auto"`` (sink series when they
        fit in 512 MiB), ``"all"``, ``"none"``, or a list of ``"sinks"``,
        ``"production"``, ``"flows"``, ``"inventory"``.
    progress
        True for a progress bar on stderr (shown for runs over a second), or
        a callable ``f(done, total)``.

    Returns
    -------
    Results
    """
    if not isinstance(scenario, Scenario):
        from reesim.scenario.load import load_scenario

        scenario = load_scenario(scenario)
    if not isinstance(replicates, int | np.integer) or replicates < 1:
        raise ReesimError(f"replicates must be a positive integer (got {replicates!r})")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ReesimError(f"seed must be a non-negative integer (got {seed!r})")
    run_chunk = get_engine(engine)
    plan = compile_plan(scenario)
    keep = resolve_record(record, plan, int(replicates))
    if chunk_size is None:
        chunk_size = default_chunk_size(plan, keep, str(engine))
        if engine == "des":
            chunk_size = min(chunk_size, 64)
        # As many chunks as that takes, of equal size: a short last chunk would pay a
        # chunk's fixed costs (and under numba run on fewer threads) for a few replicates.
        n_chunks = -(-int(replicates) // chunk_size)
        chunk_size = -(-int(replicates) // n_chunks)
    if chunk_size < 1:
        raise ReesimError(f"chunk_size must be >= 1 (got {chunk_size})")

    report, close = _progress(progress, int(replicates))
    started = time.perf_counter()
    collector = _Collector(plan, keep, int(replicates), compiled=engine == "numba")
    seen_warnings: set[str] = set()
    for msg in plan.warnings:
        seen_warnings.add(msg)
        warnings.warn(msg, ReesimWarning, stacklevel=2)
    try:
        for lo in range(0, int(replicates), chunk_size):
            idx = np.arange(lo, min(int(replicates), lo + chunk_size), dtype=np.int64)
            samples = draw_samples(plan, int(seed), idx)
            out = run_chunk(plan, samples, keep | {"sinks"}, series=collector.rows(lo, idx.size))
            for msg in [*samples.warnings, *out.warnings]:
                if msg not in seen_warnings:
                    seen_warnings.add(msg)
                    warnings.warn(msg, ReesimWarning, stacklevel=2)
            collector.add(lo, out, samples.ev_k0, samples.ev_happens)
            report(int(idx[-1]) + 1, int(replicates))
    finally:
        close()
    return collector.results(
        seed=int(seed),
        engine=str(engine),
        chunk_size=int(chunk_size),
        elapsed=time.perf_counter() - started,
        warnings=sorted(seen_warnings),
    )


def start_periods(plan: Plan, ev_k0: np.ndarray, happens: np.ndarray) -> np.ndarray:
    """Disruption start per replicate: the reference event's first period, NaN if it never acts."""
    if plan.reference_event < 0:
        return np.zeros(ev_k0.shape[0])
    v = plan.reference_event
    return np.where(happens[:, v], ev_k0[:, v], np.nan).astype(np.float64)


class _Collector:
    """Gathers metrics, series and ledgers chunk by chunk into preallocated arrays.

    Arrays for all replicates are allocated when the first chunk arrives and
    filled in place, so the peak memory of a run is what it returns plus one
    chunk, never twice what it returns.
    """

    SERIES = {
        "sinks": ("demand", "served"),
        "production": ("production",),
        "flows": ("departures", "arrivals"),
        "inventory": ("inventory", "in_transit"),
    }

    def __init__(
        self, plan: Plan, keep: frozenset[str], total: int, compiled: bool = False
    ) -> None:
        self.plan = plan
        # The numba engine's runs evaluate metrics with the compiled kernel too (the
        # same numbers): for small networks NumPy's metrics cost as much as the run.
        self.compiled = compiled
        self.keep = keep
        self.total = total
        self.groups = {g: _group_matrix(plan, g) for g in GROUPINGS}
        # A group of one sink has that sink's metrics; only larger groups need their
        # summed series evaluated, and those of every grouping are summed in one pass:
        # grouping g's larger groups are the columns ``self.columns[g]`` of ``self.summed``.
        self.multi = {g: np.flatnonzero(m.sum(axis=0) > 1) for g, (_, m) in self.groups.items()}
        named = [g for g in GROUPINGS if g != "sink"]
        self.summed = np.concatenate([self.groups[g][1][:, self.multi[g]] for g in named], axis=1)
        ends = np.cumsum([0, *(self.multi[g].size for g in named)])
        self.columns = {g: slice(int(ends[i]), int(ends[i + 1])) for i, g in enumerate(named)}
        self.metrics: dict[str, dict[str, np.ndarray]] = {}
        self.series: dict[str, np.ndarray] = {}
        self._scratch: dict[str, np.ndarray] = {}
        self.ledger: dict[str, np.ndarray] = {}
        self.start = np.full(total, np.nan)

    def rows(self, lo: int, n: int) -> dict[str, np.ndarray]:
        """Arrays for an engine to write a chunk's series into, by name.

        Recorded series: the rows ``lo .. lo + n - 1`` of the run's series,
        allocated zeroed (pages are only touched when written) on first use,
        so a recorded series is written once and never copied. The sink
        series the metrics need but the run does not keep: one scratch
        buffer shared by every chunk, so later chunks write into memory
        already mapped instead of paying a page fault per 4 KiB again (the
        engines write every value, so it is never zeroed).
        """
        plan = self.plan
        width = series_widths(plan)
        for key in self.keep:
            for name in self.SERIES[key]:
                if name not in self.series:
                    shape = (self.total, plan.n_periods, width[name])
                    self.series[name] = np.zeros(shape)
        views = {name: values[lo : lo + n] for name, values in self.series.items()}
        if "sinks" not in self.keep:
            for name in self.SERIES["sinks"]:
                buffer = self._scratch.get(name)
                if buffer is None or buffer.shape[0] < n:
                    buffer = np.empty((n, plan.n_periods, width[name]))
                    self._scratch[name] = buffer
                views[name] = buffer[:n]
        return views

    def _put(self, store: dict[str, np.ndarray], name: str, lo: int, value: np.ndarray) -> None:
        if name not in store:
            store[name] = np.empty((self.total, *value.shape[1:]), dtype=value.dtype)
        store[name][lo : lo + value.shape[0]] = value

    def add(self, lo: int, out: ChunkOutput, ev_k0: np.ndarray, happens: np.ndarray) -> None:
        plan = self.plan
        start = start_periods(plan, ev_k0, happens)
        self.start[lo : lo + start.shape[0]] = start
        # [R, S] whether each sink ever gets less than its demand: it picks the rows
        # the metrics evaluate, and the replicates whose group series are summed.
        falls = out.falls
        if falls is None:
            falls = falls_short(out.demand, out.served, self.compiled)
        per_sink = shortage_metrics(
            out.demand, out.served, start, plan.threshold, plan.period_days, self.compiled, falls
        )
        if self.summed.shape[1]:
            all_demand, all_served, rows = _group_series(out, self.summed, falls, self.compiled)
        for g, (_, matrix) in self.groups.items():
            values: dict[str, Any]
            if g == "sink":
                values = dict(per_sink)
            else:
                values = {k: v[:, matrix.argmax(axis=0)] for k, v in per_sink.items()}
                if self.multi[g].size:
                    cols = self.columns[g]
                    demand, served = all_demand[:, :, cols], all_served[:, :, cols]
                    grouped = shortage_metrics(
                        demand,
                        served,
                        start,
                        plan.threshold,
                        plan.period_days,
                        self.compiled,
                        _group_falls(demand, served, rows, self.compiled),
                    )
                    for k, v in grouped.items():
                        values[k][:, self.multi[g]] = v
            store = self.metrics.setdefault(g, {})
            for name, value in values.items():
                self._put(store, name, lo, np.asarray(value))
        for key in self.keep:
            for name in self.SERIES[key]:
                value = getattr(out, name)
                if not np.may_share_memory(value, self.series.get(name, np.empty(0))):
                    self._put(self.series, name, lo, value)
        for name, value in out.ledger.items():
            self._put(self.ledger, name, lo, value)

    def results(self, **kw: object) -> Results:
        metrics = {g: (self.groups[g][0], self.metrics[g]) for g in GROUPINGS}
        return Results(
            plan=self.plan,
            metrics=metrics,
            series=self.series,
            ledger=self.ledger,
            start=self.start,
            record=self.keep,
            **kw,  # type: ignore[arg-type]
        )


def _group_series(
    out: ChunkOutput, matrix: np.ndarray, falls: np.ndarray, compiled: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demand and served [R, N, G] of sink groups, summed only where a sink falls short.

    A replicate none of whose grouped sinks ever gets less than its demand has
    served equal to demand in every group, to the last bit, so its metrics are
    those of any series without a shortfall: it is given zeros instead of sums.
    The replicates summed come third (sorted). ``compiled`` sums with
    :func:`reesim.metrics_compiled.group_sum` (the same doubles).
    """
    if compiled:
        from reesim.metrics_compiled import group_sum
    else:
        group_sum = _group_sum
    # Replicates where a grouped sink falls short. (Not a matrix product: BLAS threads
    # spin for a while after a call and would take the other core from the engine's.)
    rows = np.flatnonzero(falls[:, (matrix > 0).any(axis=1)].any(axis=1))
    if rows.size == falls.shape[0]:
        return group_sum(out.demand, matrix), group_sum(out.served, matrix), rows
    shape = (*out.demand.shape[:2], matrix.shape[1])
    demand, served = np.zeros(shape), np.zeros(shape)
    if rows.size:
        demand[rows] = group_sum(out.demand[rows], matrix)
        served[rows] = group_sum(out.served[rows], matrix)
    return demand, served, rows


def _group_falls(
    demand: np.ndarray, served: np.ndarray, rows: np.ndarray, compiled: bool
) -> np.ndarray:
    """:func:`~reesim.metrics.falls_short` of group series that are zeros outside ``rows``.

    A replicate outside ``rows`` has no shortfall (its series are zeros), so
    only ``rows`` are compared: on a run where few replicates fall short, a
    pass over a few rows instead of the chunk.
    """
    if rows.size == demand.shape[0]:
        return falls_short(demand, served, compiled)
    out = np.zeros((demand.shape[0], demand.shape[2]), dtype=bool)
    if rows.size:
        out[rows] = falls_short(demand[rows], served[rows], compiled)
    return out


def _group_sum(series: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Sum [R, N, S] sink series into [R, N, G] groups, in a fixed order per group.

    Sink by sink in sink order, starting from 0.0, so the last bits do not
    depend on the chunk (a matrix product's summation order depends on the
    array's size). The replicate-period rows go in blocks that stay in the
    cache; each block is transposed first, so that every addition runs over
    one sink's contiguous values rather than down a column (several times
    faster on many sinks).
    """
    flat = series.reshape(-1, series.shape[2])
    n_rows, n_groups = flat.shape[0], matrix.shape[1]
    out = np.empty((n_rows, n_groups))
    members = [np.flatnonzero(matrix[:, g]) for g in range(n_groups)]
    block = min(_GROUP_BLOCK, n_rows)
    by_sink, by_group = np.empty((flat.shape[1], block)), np.empty((n_groups, block))
    for lo in range(0, n_rows, block):
        part = flat[lo : lo + block]
        n = part.shape[0]
        columns, totals = by_sink[:, :n], by_group[:, :n]
        np.copyto(columns, part.T)
        totals.fill(0.0)
        for g, sinks in enumerate(members):
            total = totals[g]
            for s in sinks:
                np.add(total, columns[s], out=total)
        out[lo : lo + n] = totals.T
    return out.reshape(*series.shape[:2], n_groups)


def _group_matrix(plan: Plan, by: str) -> tuple[list[str], np.ndarray]:
    """Group labels and the [S, G] 0/1 matrix summing sinks into groups."""
    if by == "sink":
        return list(plan.sink_ids), np.eye(plan.n_sinks)
    labels = {
        "sector": plan.sink_sector,
        "region": plan.sink_region,
        "commodity": plan.sink_commodity,
    }[by]
    names = sorted(set(labels))
    matrix = np.zeros((plan.n_sinks, len(names)))
    for s, label in enumerate(labels):
        matrix[s, names.index(label)] = 1.0
    return names, matrix


def _progress(progress: bool | Progress | None, total: int) -> tuple[Progress, Callable[[], None]]:
    """A reporting callback and a closer; a tqdm bar on stderr that appears after 1 s."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return (lambda done, total: None), lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="rep", delay=1.0, leave=False, dynamic_ncols=True)
    state = {"done": 0}

    def report(done: int, _total: int) -> None:
        bar.update(done - state["done"])
        state["done"] = done

    return report, bar.close
