"""Hypothesis strategies that build valid random networks and scenarios.

Use them in your own property tests::

    from hypothesis import given
    from reesim.testing import scenarios

    @given(scenarios(max_facilities=6, event_kinds=("export_ban", "export_quota")))
    def test_my_property(sc):
        ...

Every network is layered (mines -> processing stages -> sinks), every input
of every buyer is reachable over a route with weight > 0, and capacities
(facilities and routes) carry 25-100 % slack over the steady flows, so an
undisturbed run without demand growth stays in its steady state and is never
short. Values are distinct and non-round even after hypothesis shrinks them,
so a bug that swaps two facilities or two routes changes the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from reesim.scenario import EVENT_KINDS, Scenario
from reesim.testing._events import draw_events
from reesim.testing._network import PERIODS, build_network, uniform01

__all__ = ["EVENT_KINDS", "PERIODS", "networks", "scenarios"]


def networks(
    *,
    max_facilities: int = 8,
    max_sinks: int = 4,
    commodities: int = 3,
    assembly_tree: bool = False,
    coproducts: bool = True,
    coproduct_surplus: bool = False,
    stockpiles: bool = True,
    growth: bool = False,
    route_capacity: bool = True,
    overrides: bool = False,
    distributions: bool = False,
    period: str | None = None,
    horizon: tuple[int, int] = (10, 52),
) -> st.SearchStrategy[Scenario]:
    """Valid layered networks without events, as :class:`~reesim.scenario.Scenario` objects.

    Parameters
    ----------
    max_facilities
        Most producing facilities (stockpiles come on top), >= 2.
    max_sinks
        Most demand sinks (a co-product may add one), >= 1.
    commodities
        Most stocked commodities along the chain (mine output to final good), >= 2.
    assembly_tree
        Build a forest of assembly trees: no buyer has two suppliers of a
        commodity and no supplier serves two buyers of one commodity (no
        stockpiles, no stocked co-products, no dormant routes). The class on
        which MODEL's monotonicity invariants hold.
    coproducts
        Allow a stocked co-product bought downstream, and by-products.
    coproduct_surplus
        Make 30-80 % more of a stocked co-product than its buyers take (it then
        piles up); by default it is made exactly as fast as it is sold, so the
        run stays steady. Always on with ``growth``.
    stockpiles
        Allow up to two stockpiles with push routes (ignored for trees).
    growth
        Draw demand growth in -4..6 %/yr (the run is then not steady).
    route_capacity
        Give about a third of the routes a capacity (with slack over their flow).
    overrides
        Override some initial stocks (the start is then not steady).
    distributions
        Make some demands, capacities and lead times distributions.
    period
        ``"day"``, ``"week"`` or ``"month"``; None draws one.
    horizon
        Smallest and largest number of periods.
    """
    kw = dict(locals())
    _check_sizes(max_facilities, max_sinks, commodities, period, horizon)
    return build_network(**kw).map(lambda net: net.scenario([], {}))


def scenarios(
    *,
    event_kinds: Sequence[str] = EVENT_KINDS,
    min_events: int = 0,
    max_events: int = 6,
    events: bool = True,
    max_facilities: int = 8,
    max_sinks: int = 4,
    commodities: int = 3,
    assembly_tree: bool = False,
    coproducts: bool = True,
    coproduct_surplus: bool = False,
    stockpiles: bool = True,
    growth: bool = False,
    route_capacity: bool = True,
    overrides: bool = False,
    distributions: bool = False,
    period: str | None = None,
    horizon: tuple[int, int] = (10, 52),
) -> st.SearchStrategy[Scenario]:
    """Valid scenarios: a network from :func:`networks` plus random events.

    Parameters
    ----------
    event_kinds
        Kinds to draw from (see :data:`reesim.scenario.EVENT_KINDS`); a kind the
        network cannot carry (a release without a stockpile) is skipped.
    min_events, max_events
        How many events to draw.
    events
        False for no events at all (the same as ``max_events=0``).
    max_facilities, max_sinks, commodities, assembly_tree, coproducts, coproduct_surplus,
    stockpiles, growth, route_capacity, overrides, distributions, period, horizon
        As for :func:`networks`.

    Raises
    ------
    ValueError
        At once, for an unknown event kind or an impossible size.

    Notes
    -----
    Event values may be distributions (dates, durations, delays, shares);
    starts may fall beyond the horizon or have a probability below 1, so an
    event may not happen in some replicates.
    """
    kw = dict(locals())
    unknown = sorted(set(event_kinds) - set(EVENT_KINDS))
    if unknown:
        raise ValueError(f"event_kinds: unknown kinds {unknown}; choose from {list(EVENT_KINDS)}")
    if not 0 <= min_events <= max(min_events, max_events):
        raise ValueError(f"need 0 <= min_events (got {min_events})")
    _check_sizes(max_facilities, max_sinks, commodities, period, horizon)
    return _scenarios(**kw)


def _check_sizes(
    max_facilities: int,
    max_sinks: int,
    commodities: int,
    period: str | None,
    horizon: tuple[int, int],
) -> None:
    if max_facilities < 2 or max_sinks < 1 or commodities < 2:
        raise ValueError(
            "need max_facilities >= 2, max_sinks >= 1 and commodities >= 2 (got "
            f"{max_facilities}, {max_sinks}, {commodities})"
        )
    if period is not None and period not in PERIODS:
        raise ValueError(f"period must be one of {list(PERIODS)} or None (got {period!r})")
    if not 1 <= horizon[0] <= horizon[1]:
        raise ValueError(f"horizon must be (min, max) periods with 1 <= min <= max (got {horizon})")


@st.composite
def _scenarios(
    draw: st.DrawFn,
    *,
    event_kinds: Sequence[str],
    min_events: int,
    max_events: int,
    events: bool,
    max_facilities: int,
    max_sinks: int,
    commodities: int,
    assembly_tree: bool,
    coproducts: bool,
    coproduct_surplus: bool,
    stockpiles: bool,
    growth: bool,
    route_capacity: bool,
    overrides: bool,
    distributions: bool,
    period: str | None,
    horizon: tuple[int, int],
) -> Scenario:
    net = draw(
        build_network(
            max_facilities=max_facilities,
            max_sinks=max_sinks,
            commodities=commodities,
            assembly_tree=assembly_tree,
            coproducts=coproducts,
            coproduct_surplus=coproduct_surplus,
            stockpiles=stockpiles,
            growth=growth,
            route_capacity=route_capacity,
            overrides=overrides,
            distributions=distributions,
            period=period,
            horizon=horizon,
        )
    )
    evs: list[dict[str, Any]] = []
    if events and event_kinds and max_events > 0:
        evs = draw_events(draw, net, list(event_kinds), min_events, max_events)
    settings: dict[str, Any] = {}
    if draw(st.integers(0, 3)) == 0:
        settings["shortage_threshold"] = round(0.9 + 0.1 * uniform01(draw), 6)
    if evs and draw(st.integers(0, 2)) == 0:
        named = [e["id"] for e in evs if "id" in e]
        if named:
            settings["reference_event"] = draw(st.sampled_from(named))
    return net.scenario(evs, settings)
