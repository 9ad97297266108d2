"""Row-major building blocks of the vectorised core: group sums, index slices, the ring.

The core keeps every per-period array as [X, R]: one row per holding, route
or facility, one column per replicate. Moving values between holdings and
routes is then a gather or scatter of whole contiguous rows, and summing
routes into holdings is a ``reduceat`` over sorted rows; both cost about
one elementwise operation, where the same moves over columns of [R, X]
arrays cost several.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "RowMin",
    "RowSum",
    "TransitRing",
    "as_index",
    "few_enough_to_patch",
    "transposed",
    "with_columns",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def transposed(values: NDArray[Any]) -> NDArray[Any]:
    """A C-contiguous [X, R] copy of an [R, X] array (per-replicate values as rows)."""
    return np.ascontiguousarray(np.asarray(values).T)


def as_index(index: IntArray) -> slice | IntArray:
    """``index`` as a slice when it is a run of consecutive rows (a view, no copy)."""
    index = np.asarray(index, dtype=np.int64)
    if index.size and np.array_equal(index, np.arange(index[0], index[0] + index.size)):
        return slice(int(index[0]), int(index[0]) + index.size)
    return index


def few_enough_to_patch(n_moved: int, n_rep: int) -> bool:
    """Whether recomputing ``n_moved`` of ``n_rep`` replicates' columns beats recomputing all.

    Patching costs a copy of each array plus the work for the moved columns;
    below a quarter of the chunk that is the cheaper of the two.
    """
    return 4 * n_moved < n_rep


def with_columns(old: NDArray[Any], cols: IntArray, part: NDArray[Any]) -> NDArray[Any]:
    """A copy of [X, R] ``old`` whose columns ``cols`` are ``part`` [X, len(cols)].

    A copy, not a write into ``old``: the core keys what it derives on the
    identity of the arrays it was derived from.
    """
    new = old.copy()
    new[:, cols] = part
    return new


class RowSum:
    """Sums the rows of an [X, R] array into [n, R] groups given by ``index`` [X].

    Each group's rows are added one after another in their order, as the
    other engines' scalar loops add them, so the sums are the same to the
    last bit and do not depend on how many replicates share the array.
    (``np.add.reduceat`` would be one call, but it does not add a column's
    rows in sequence.) Groups of at most :attr:`SMALL` rows are summed
    together, one rank at a time: the first row of every group, then the
    second, and so on; a larger group is gathered and reduced over its rows
    in one call (see :meth:`_reduce_rows` for why that is in sequence).
    """

    #: Largest group summed rank by rank; larger groups get a call of their own.
    SMALL = 4
    #: The ufunc that combines rows (subclasses may use another, e.g. a minimum).
    op: np.ufunc = np.add

    def __init__(self, index: IntArray, n_groups: int) -> None:
        index = np.asarray(index, dtype=np.int64)
        order = np.argsort(index, kind="stable")
        groups, starts, counts = np.unique(index[order], return_index=True, return_counts=True)
        self.n = n_groups
        self.complete = bool(len(groups) == n_groups)
        small = counts <= self.SMALL
        self.ranks: list[tuple[slice | IntArray, slice | IntArray]] = []
        for rank in range(int(counts[small].max()) if small.any() else 0):
            sel = small & (counts > rank)
            self.ranks.append((as_index(groups[sel]), as_index(order[starts[sel] + rank])))
        self.big: list[tuple[int, slice | IntArray]] = [
            (int(g), as_index(order[s : s + c]))
            for g, s, c in zip(groups, starts, counts, strict=True)
            if c > self.SMALL
        ]

    def __call__(self, values: FloatArray) -> FloatArray:
        shape = (self.n, values.shape[1])
        out = np.empty(shape) if self.complete else np.zeros(shape)
        op = self.op
        for rank, (groups, rows) in enumerate(self.ranks):
            if rank == 0 and isinstance(groups, slice) and not isinstance(rows, slice):
                # The groups' first rows, in group order: one gather straight into out
                # (mode="clip" avoids the buffered copy np.take makes under mode="raise").
                values.take(rows, axis=0, out=out[groups], mode="clip")
            elif rank == 0:
                out[groups] = values[rows]
            elif isinstance(groups, slice):
                op(out[groups], values[rows], out=out[groups])
            else:
                out[groups] = op(out[groups], values[rows])
        for group, rows in self.big:
            self._reduce_rows(values[rows], out[group])
        return out

    def _reduce_rows(self, block: FloatArray, out: FloatArray) -> None:
        """Combine the rows of a [g, R] block in order into ``out`` [R].

        With two or more columns NumPy reduces over the rows by combining
        whole rows into the output one after another, which is the order
        wanted. With one column the block is a vector and ``np.add.reduce``
        would sum it pairwise, so that case goes row by row.
        """
        if block.shape[1] >= 2:
            self.op.reduce(block, axis=0, out=out)
            return
        out[...] = block[0]
        for row in block[1:]:
            self.op(out, row, out=out)


class RowMin(RowSum):
    """The least of each group's rows (:class:`RowSum` with ``np.minimum``)."""

    op = np.minimum


class TransitRing:
    """Shipments in transit: what lands in each of the next ``length`` periods, per route.

    Routes whose transit time never changes during the run (no licence can
    delay them) need no scatter at all: each period's departures are kept
    by departure period modulo ``length`` (``history``), and a period's
    arrivals are read back ``transit`` periods later. When a route's lead
    time is the same in every replicate, that read copies whole rows;
    otherwise it gathers element by element with indices kept per slot.
    Routes whose transit can change (licence delays) keep the general form:
    a ring indexed by arrival period modulo ``length``, filled by a scatter.
    ``length`` exceeds the longest transit, so one slot never holds two
    landing periods.

    Parameters
    ----------
    lead
        [E, R] lead times in whole periods (at least 1).
    length
        Slots: more than the longest lead time plus licence delay.
    varying
        [E] routes whose transit time can change during the run.
    """

    #: Largest number of cached flat indices (8 bytes each) kept per chunk.
    CACHE_LIMIT = 1 << 23

    def __init__(self, lead: IntArray, length: int, varying: NDArray[np.bool_]) -> None:
        n_routes, n_rep = lead.shape
        self.length = length
        self.history = np.zeros((length, n_routes, n_rep))
        self._size = n_routes * n_rep
        self._base = np.arange(self._size, dtype=np.int64).reshape(n_routes, n_rep)
        same = (lead == lead[:, :1]).all(axis=1) if n_rep else np.ones(n_routes, dtype=bool)
        self.rows_a = np.flatnonzero(~varying & same)
        self.rows_b = np.flatnonzero(~varying & ~same)
        self.rows_c = np.flatnonzero(varying)
        self.all_a = len(self.rows_a) == n_routes
        self._lead_a = lead[self.rows_a, 0] if n_rep else np.zeros(len(self.rows_a), np.int64)
        self._base_b = self._base[self.rows_b]
        self._lead_b = lead[self.rows_b]
        self.ring = np.zeros((length, len(self.rows_c), n_rep))
        self._ring_flat = self.ring.reshape(-1)
        self._base_c = np.arange(self.ring[0].size, dtype=np.int64).reshape(self.ring[0].shape)
        self._keep = length * self._size <= self.CACHE_LIMIT
        self._read_a: dict[int, IntArray] = {}
        self._read_b: dict[int, IntArray] = {}
        self._transit_c: IntArray | None = None
        self._write_c: dict[int, IntArray] = {}

    def start(self, flow: FloatArray, transit: IntArray | FloatArray) -> None:
        """Steady start: ``flow`` [E, R] lands in each of the first ``transit`` periods."""
        self.history[...] = flow
        for j in range(self.length):
            self.ring[j] = np.where(j < transit[self.rows_c], flow[self.rows_c], 0.0)

    def arrivals(self, slot: int) -> FloatArray:
        """What lands in the period of ``slot`` [E, R]; the ring's slot is emptied."""
        hist2d = self.history.reshape(-1, self.history.shape[2])
        if self.all_a:
            return hist2d.take(self._read_rows(slot), axis=0)
        arriving = np.empty(self.history.shape[1:])
        if len(self.rows_a):
            arriving[self.rows_a] = hist2d.take(self._read_rows(slot), axis=0)
        if len(self.rows_b):
            index = self._read_b.get(slot)
            if index is None:
                back = slot - self._lead_b
                index = np.where(back < 0, back + self.length, back) * self._size + self._base_b
                if self._keep:
                    self._read_b[slot] = index
            arriving[self.rows_b] = self.history.reshape(-1).take(index)
        if len(self.rows_c):
            arriving[self.rows_c] = self.ring[slot]
            self.ring[slot].fill(0.0)
        return arriving

    def _read_rows(self, slot: int) -> IntArray:
        rows = self._read_a.get(slot)
        if rows is None:
            back = slot - self._lead_a
            rows = np.where(back < 0, back + self.length, back) * self.history.shape[1]
            rows = rows + self.rows_a
            self._read_a[slot] = rows
        return rows

    def depart(self, slot: int, ship: FloatArray, transit_c: IntArray | None) -> None:
        """Record ``ship`` [E, R] leaving in ``slot``; ``transit_c`` is the varying routes'."""
        self.history[slot] = ship
        if not len(self.rows_c) or transit_c is None:
            return
        if transit_c is not self._transit_c:
            self._transit_c, self._write_c = transit_c, {}
        index = self._write_c.get(slot)
        if index is None:
            at = slot + transit_c
            at = np.where(at >= self.length, at - self.length, at)
            index = (at * self._base_c.size + self._base_c).reshape(-1)
            if self._keep:
                self._write_c[slot] = index
        landed = self._ring_flat.take(index)
        landed += ship[self.rows_c].reshape(-1)
        self._ring_flat.put(index, landed)

    def by_route(self, period: int) -> FloatArray:
        """Total in transit per route [E, R] at the start of ``period``.

        Summed over landing slots in slot order, as a ring indexed by landing
        period would sum them.
        """
        n_rep = self.history.shape[2]
        hist2d, flat = self.history.reshape(-1, n_rep), self.history.reshape(-1)
        part_a = np.zeros((len(self.rows_a), n_rep))
        part_b = np.zeros((len(self.rows_b), n_rep))
        part_c = np.zeros((len(self.rows_c), n_rep))
        for s in range(self.length):
            # The period landing in slot s departed lead periods before, in slot s - lead
            # (mod length); it is in transit if that departure came before ``period``.
            ahead = (s - period) % self.length
            if len(self.rows_a):
                term = hist2d.take(self._read_rows(s), axis=0)
                term[self._lead_a <= ahead] = 0.0
                part_a += term
            if len(self.rows_b):
                back = s - self._lead_b
                back = np.where(back < 0, back + self.length, back)
                taken = flat.take(back * self._size + self._base_b)
                part_b += np.where(ahead < self._lead_b, taken, 0.0)
            if len(self.rows_c):
                part_c += self.ring[s]
        total = np.empty(self.history.shape[1:])
        total[self.rows_a] = part_a
        total[self.rows_b] = part_b
        total[self.rows_c] = part_c
        return total
