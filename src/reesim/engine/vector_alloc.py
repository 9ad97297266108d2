"""Allocation for the vectorised core: supplier stock served by priority class (step 6).

A supplier's stock goes to its routes' requests class by class, in the
order the classes are served; within a class each route takes the same
fraction, ``min(1, stock / asked)``. :func:`priority_classes` turns the
period state's class of every route into the parts the core serves (they
change only with events); :func:`allocate` serves one period's requests.
Arrays are [X, R] as everywhere in the core (:mod:`reesim.engine.rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reesim.engine.rows import RowSum

__all__ = ["PriorityClass", "allocate", "priority_classes"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


@dataclass
class PriorityClass:
    """One priority class: a mask, a few routes, or most routes but ``others``.

    A class of a few routes works on its own suppliers only: ``suppliers``
    (positions in the supplier set), ``src`` (each route's position among
    them) and ``total`` (the sum of its routes' requests by supplier).
    """

    mask: BoolArray | None = None
    routes: IntArray | None = None
    others: IntArray | None = None
    total: RowSum | None = None
    src: IntArray | None = None
    suppliers: IntArray | None = None


def priority_classes(klass: FloatArray, levels: FloatArray, src_s: IntArray) -> list[PriorityClass]:
    """Priority classes, in the order they are served.

    When every replicate ranks the routes alike, a class is a set of routes:
    a small one is gathered, a large one is every route with the others'
    requests zeroed (cheaper than gathering most rows). Otherwise each class
    is a mask over [E, R].

    Parameters
    ----------
    klass
        [E, R] class of each route (lower is served first).
    levels
        Every class that can occur, in serving order.
    src_s
        [E] each route's supplier, as a row of the core's supplier set.
    """
    n_routes = len(klass)
    alike = bool((klass == klass[:, :1]).all())
    parts: list[PriorityClass] = []
    for level in levels:
        if not alike:
            parts.append(PriorityClass(mask=klass == level))
            continue
        routes = np.flatnonzero(klass[:, 0] == level)
        if not routes.size:
            continue
        if 2 * routes.size > n_routes:
            others = np.flatnonzero(klass[:, 0] != level)
            parts.append(PriorityClass(others=others if others.size else None))
        else:
            suppliers, src = np.unique(src_s[routes], return_inverse=True)
            parts.append(
                PriorityClass(
                    routes=routes, total=RowSum(src, len(suppliers)), src=src, suppliers=suppliers
                )
            )
    return parts


def allocate(
    parts: list[PriorityClass],
    request: FloatArray,
    remaining: FloatArray,
    by_src: RowSum,
    src_s: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """Serve requests by priority class, pro rata within a class, from supplier stock.

    A class's routes take ``min(1, stock / asked)`` of their requests; what
    they take leaves the stock the next class shares.

    Parameters
    ----------
    parts
        The classes, from :func:`priority_classes`.
    request
        [E, R] t asked along each route this period; may be overwritten.
    remaining
        [S, R] t on hand at each supplier; written in place.
    by_src
        Sums routes into their suppliers, in route order.
    src_s
        [E] each route's supplier row.

    Returns
    -------
    tuple
        What each supplier keeps [S, R] and what each route ships [E, R], t.
    """
    # Shipments of classes over all routes (a mask, or every route with the others'
    # requests zeroed) are summed; a class of a few routes writes its rows last. A
    # route asks in one class only, so every other class adds exactly 0.0 to it. The
    # few-route classes' requests are gathered first, so that the class over most
    # routes can take its share in the caller's array, whenever it is served.
    gathered = [request[part.routes] if part.routes is not None else None for part in parts]
    ship: FloatArray | None = None
    few: list[tuple[IntArray, FloatArray]] = []
    for part, asked_few in zip(parts, gathered, strict=True):
        if (
            asked_few is not None
            and part.routes is not None
            and part.total is not None
            and part.src is not None
        ):
            asked_by_route = asked_few
            asked = part.total(asked_by_route)
            if asked.any():
                left = remaining[part.suppliers]
                frac = _fraction(asked, left)
                few.append((part.routes, np.multiply(asked_by_route, frac[part.src])))
                remaining[part.suppliers] = np.maximum(0.0, left - np.minimum(asked, left))
            continue
        if part.mask is not None:
            asked_by_route = np.where(part.mask, request, 0.0)
        elif part.others is not None:
            asked_by_route = request  # its own routes' rows; the others' are zeroed
            asked_by_route[part.others] = 0.0
        else:
            asked_by_route = request  # the caller's array: taking its share writes it
        asked = by_src(asked_by_route)
        if not asked.any():
            continue
        frac = _fraction(asked, remaining)
        sent = np.multiply(asked_by_route, frac.take(src_s, axis=0), out=asked_by_route)
        if ship is None:
            ship = sent
        else:
            ship += sent
        remaining = np.maximum(0.0, remaining - np.minimum(asked, remaining))
    if ship is None:
        ship = np.zeros_like(request)
    for routes, sent in few:
        ship[routes] = sent
    return remaining, ship


def _fraction(asked: FloatArray, stock: FloatArray) -> FloatArray:
    """``min(1, stock / asked)`` where something is asked, else 0."""
    has_ask = asked > 0
    return np.where(has_ask, np.minimum(1.0, stock / np.where(has_ask, asked, 1.0)), 0.0)
