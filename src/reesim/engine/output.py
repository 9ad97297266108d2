"""What an engine hands back for one chunk: series, mass ledger and warnings.

Both engines fill the same :class:`ChunkOutput`, so results, metrics and the
differential tests read one structure whichever engine ran.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from reesim.engine.rows import RowSum
from reesim.plan import Plan
from reesim.sampling import Samples

__all__ = [
    "RECORDABLE",
    "SERIES",
    "ChunkOutput",
    "SeriesRecorder",
    "new_output",
    "series_widths",
    "sum_columns",
]

FloatArray = NDArray[np.float64]

#: Series an engine can record besides the sink series it always keeps.
RECORDABLE = ("sinks", "production", "flows", "inventory")
#: Every series array a :class:`ChunkOutput` can hold, in its order.
SERIES = ("demand", "served", "production", "departures", "arrivals", "inventory", "in_transit")


def series_widths(plan: Plan) -> dict[str, int]:
    """Columns of each series of :data:`SERIES` (sinks, facilities, routes or holdings)."""
    return {
        "demand": plan.n_sinks,
        "served": plan.n_sinks,
        "production": plan.n_facilities,
        "departures": plan.n_routes,
        "arrivals": plan.n_routes,
        "inventory": plan.n_holdings,
        "in_transit": plan.n_holdings,
    }


def sum_columns(values: FloatArray, index: NDArray[np.int64], n: int) -> FloatArray:
    """Sum the columns of [R, X] ``values`` into ``n`` groups given by ``index`` [X].

    Each group's columns are added in column order, so each row's sums do not
    depend on how many rows there are (a BLAS product's would). The columns
    are summed as rows of the transposed array (:class:`RowSum`): whole
    contiguous rows, rather than one strided column at a time.
    """
    index = np.asarray(index, dtype=np.int64)
    if not index.size or not values.shape[0]:
        return np.zeros((values.shape[0], n))
    sums = _row_sum(index.tobytes(), n)(np.ascontiguousarray(values.T))
    return np.ascontiguousarray(sums.T)


@functools.lru_cache(maxsize=64)
def _row_sum(index: bytes, n: int) -> RowSum:
    """The :class:`RowSum` of an int64 ``index`` (as bytes): a chunk's ledger sums reuse it."""
    return RowSum(np.frombuffer(index, dtype=np.int64), n)


@dataclass
class ChunkOutput:
    """Series and ledgers of one chunk of replicates (first axis: replicate).

    Attributes
    ----------
    demand, served
        [R, N, S] t per period at each sink (kept for the metrics).
    production
        [R, N, F] activity, t of reference output per period (when recorded).
    departures, arrivals
        [R, N, E] route flows, t per period, counted when they leave and when
        they land (when ``flows`` is recorded).
    inventory, in_transit
        [R, N, H] on hand at the end of each period, and inbound in transit
        (when ``inventory`` is recorded).
    ledger
        Mass ledger [R, C] per entry: ``initial`` (stock and pipeline),
        ``produced``, ``consumed``, ``served``, ``byproduct``, ``final_on_hand``,
        ``final_in_transit``.
    warnings
        Messages about the start state (e.g. pre-disruption capacity deficits).
    """

    plan: Plan
    replicates: NDArray[np.int64]
    recorded: frozenset[str]
    demand: FloatArray
    served: FloatArray
    production: FloatArray | None = None
    departures: FloatArray | None = None
    arrivals: FloatArray | None = None
    inventory: FloatArray | None = None
    in_transit: FloatArray | None = None
    ledger: dict[str, FloatArray] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: [R, S] whether each sink was served less than its demand in some period, when the
    #: engine found it while running (else None: :func:`reesim.metrics.falls_short`).
    falls: NDArray[np.bool_] | None = None
    _hold: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    @classmethod
    def empty(
        cls,
        plan: Plan,
        smp: Samples,
        record: frozenset[str],
        series: Mapping[str, FloatArray] | None = None,
    ) -> ChunkOutput:
        """Zeroed series for a chunk: sink series always, the others as ``record`` asks.

        ``series`` may hold arrays to fill instead of fresh ones (e.g. the
        chunk's rows of a run's results, so they are written once, in place);
        they must have the series' shape. What they hold does not matter:
        every engine writes every value of every series it returns.
        """
        n_rep, n = smp.n, plan.n_periods
        widths = series_widths(plan)

        def zeros(name: str) -> FloatArray:
            width = widths[name]
            given = series.get(name) if series is not None else None
            if given is None:
                return np.zeros((n_rep, n, width))
            if given.shape != (n_rep, n, width) or given.dtype != np.float64:
                raise ValueError(
                    f"series[{name!r}] must be float64 of shape {(n_rep, n, width)} "
                    f"(got {given.dtype} {given.shape})"
                )
            return given

        def maybe(name: str, key: str) -> FloatArray | None:
            return zeros(name) if key in record else None

        return cls(
            plan=plan,
            replicates=smp.replicates,
            recorded=record,
            demand=zeros("demand"),
            served=zeros("served"),
            production=maybe("production", "production"),
            departures=maybe("departures", "flows"),
            arrivals=maybe("arrivals", "flows"),
            inventory=maybe("inventory", "inventory"),
            in_transit=maybe("in_transit", "inventory"),
        )

    def add_ledger(
        self,
        act: FloatArray,
        used: FloatArray,
        made_co: FloatArray,
        made_by: FloatArray,
        served: FloatArray,
    ) -> None:
        """Accumulate one period's production, use and sales per holding."""
        plan = self.plan
        h = self._hold
        h["produced"][:, plan.fac_out_h] += np.where(plan.fac_is_stockpile, 0.0, act)
        h["produced"][:, plan.co_h] += made_co
        h["consumed"][:, plan.in_h] += used
        h["served"][:, plan.sink_h] += served
        if made_by.size:
            h["byproduct"] += sum_columns(made_by, plan.by_commodity, len(plan.commodity_ids))

    def finish(self, inv: FloatArray, transit_by_route: FloatArray) -> None:
        """Close the ledger with the final stocks, aggregated per commodity."""
        self.ledger["final_on_hand"] = self._per_commodity(inv)
        self.ledger["final_in_transit"] = self._per_route_commodity(transit_by_route)
        for key in ("produced", "consumed", "served"):
            self.ledger[key] = self._per_commodity(self._hold[key])
        self.ledger["byproduct"] = self._hold["byproduct"]
        self._hold = {}

    def _per_commodity(self, by_holding: FloatArray) -> FloatArray:
        plan = self.plan
        return sum_columns(by_holding, plan.hold_commodity, len(plan.commodity_ids))

    def _per_route_commodity(self, by_route: FloatArray) -> FloatArray:
        plan = self.plan
        index = plan.hold_commodity[plan.route_dst_h]
        return sum_columns(by_route, index, len(plan.commodity_ids))


def new_output(
    plan: Plan,
    smp: Samples,
    record: frozenset[str],
    inv0: FloatArray,
    transit0: FloatArray,
    warnings: list[str],
    series: Mapping[str, FloatArray] | None = None,
) -> ChunkOutput:
    """Allocate the output of a chunk and open its ledger with the start state.

    Parameters
    ----------
    inv0
        [R, H] stock on hand at the start.
    transit0
        [R, E] shipments in transit at the start, per route.
    series
        Arrays to fill in place (see :meth:`ChunkOutput.empty`).
    """
    out = ChunkOutput.empty(plan, smp, record, series)
    out.warnings = list(warnings)
    out.ledger["initial"] = out._per_commodity(inv0) + out._per_route_commodity(transit0)
    n_rep, n_h, n_c = smp.n, plan.n_holdings, len(plan.commodity_ids)
    out._hold = {
        "produced": np.zeros((n_rep, n_h)),
        "consumed": np.zeros((n_rep, n_h)),
        "served": np.zeros((n_rep, n_h)),
        "byproduct": np.zeros((n_rep, n_c)),
    }
    return out


class SeriesRecorder:
    """Stores an engine's [X, R] period arrays into a :class:`ChunkOutput`'s [R, N, X] series.

    Writing one period straight into [R, N, X] touches every replicate's row,
    a few bytes each, far apart in memory (for one sink, a cache line and
    often a page per replicate and period). The recorder instead copies each
    period's arrays whole into a period-major buffer of :attr:`block` periods
    and moves full blocks into the series, so each replicate's row receives
    ``block`` periods at once.

    Parameters
    ----------
    out
        The chunk's output; the series it holds (``None`` where not recorded)
        are the ones recorded.
    lines
        Most buffered values per replicate and series (default :attr:`LINES`).
    """

    #: Most buffered values per replicate and series: moving a block reads this many
    #: cache lines of the buffer over and over, so they should stay in L1.
    LINES = 512
    #: Most bytes of one series' buffer.
    BUFFER_BYTES = 1 << 22

    def __init__(self, out: ChunkOutput, lines: int | None = None) -> None:
        self._series = {
            name: getattr(out, name) for name in SERIES if getattr(out, name) is not None
        }
        n_rep = out.demand.shape[0]
        widest = max(series.shape[2] for series in self._series.values())
        by_bytes = self.BUFFER_BYTES // max(1, 8 * widest * n_rep)
        lines = self.LINES if lines is None else lines
        self.block = int(np.clip(min(lines // max(1, widest), by_bytes), 1, 64))
        self.names = frozenset(self._series)
        self._buffers = {
            name: np.empty((self.block, series.shape[2], n_rep))
            for name, series in self._series.items()
        }
        self._first = 0  # period held in the buffers' first slot
        self._filled = 0

    def put(self, k: int, **period: FloatArray) -> None:
        """Store period ``k`` (the next one); ``period`` maps series names to [X, R] arrays.

        Arrays for series that are not recorded are ignored.
        """
        if self._filled == self.block:
            self.flush()
        if self._filled == 0:
            self._first = k
        for name, buffer in self._buffers.items():
            buffer[self._filled] = period[name]
        self._filled += 1

    def flush(self) -> None:
        """Move the buffered periods into the series."""
        n, k0 = self._filled, self._first
        for name, buffer in self._buffers.items():
            self._series[name][:, k0 : k0 + n] = buffer[:n].transpose(2, 0, 1)
        self._filled = 0
