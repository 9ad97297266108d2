"""Where a period of the vectorised core goes: exclusive time per step of ``run_vector``.

    python benchmarks/phases.py                      # world-2024, chunk 423
    python benchmarks/phases.py default 2262 --rounds 7

Runs one chunk through :func:`reesim.engine.vector.run_vector` several times
with the core's steps wrapped by timers, and prints, for the fastest round,
each step's own time (time inside calls to other wrapped steps is charged to
those), per period and as a share of the chunk. The shares sum to 100%:
what no wrapper covers is reported as the rest of ``step`` (production,
consumption, ordering) and the rest of the chunk (set-up, steady start,
closing the ledger). The wrappers cost about a microsecond per call, a few
percent of a period on world-2024; compare shares, not absolute times, with
an unwrapped run.

A diagnostic for finding the next thing to make faster; it writes nothing.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

#: (class path, method, label) of the wrapped steps; RowSum covers every route sum.
STEPS = (
    ("reesim.engine.state:StateBuilder", "at", "period state (demand, events)"),
    ("reesim.engine.vector:_Core", "step", "step: production, consumption, ordering"),
    ("reesim.engine.vector:_Core", "derive", "values that change with events"),
    ("reesim.engine.vector:_Core", "route_open", "open routes"),
    ("reesim.engine.vector:_Core", "pull_shares", "order shares"),
    ("reesim.engine.vector:_Core", "_allocate", "allocation by priority class"),
    ("reesim.engine.vector:_Core", "_record", "recording series"),
    ("reesim.engine.rows:TransitRing", "arrivals", "arrivals from the transit history"),
    ("reesim.engine.rows:TransitRing", "depart", "departures into the transit history"),
    ("reesim.engine.rows:RowSum", "__call__", "route sums (RowSum, RowMin)"),
)


class ExclusiveTimer:
    """Times wrapped calls, charging each call's time minus its wrapped callees' to its label."""

    def __init__(self) -> None:
        self.own: Counter[str] = Counter()
        self._stack: list[float] = []  # time spent in wrapped callees, per open call

    def wrap(self, fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - t0
                inner = self._stack.pop()
                self.own[label] += spent - inner
                if self._stack:
                    self._stack[-1] += spent

        return timed


def _resolve(path: str) -> Any:
    import importlib

    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="world-2024")
    parser.add_argument("chunk", nargs="?", type=int, default=None, help="default: the core's")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    import reesim
    from reesim.engine import vector
    from reesim.plan import compile_plan
    from reesim.sampling import draw_samples
    from reesim.simulation import default_chunk_size

    plan = compile_plan(reesim.load_scenario(args.scenario))
    chunk = args.chunk or default_chunk_size(plan, frozenset(), "vector")
    smp = draw_samples(plan, 1, np.arange(chunk))
    timer = ExclusiveTimer()
    for path, method, label in STEPS:
        cls = _resolve(path)
        setattr(cls, method, timer.wrap(getattr(cls, method), label))
    record = frozenset({"sinks"})
    vector.run_vector(plan, smp, record)  # warm: first-call costs stay out
    best: tuple[float, Counter[str]] | None = None
    for _ in range(args.rounds):
        timer.own.clear()
        t0 = time.perf_counter()
        vector.run_vector(plan, smp, record)
        total = time.perf_counter() - t0
        if best is None or total < best[0]:
            best = (total, Counter(timer.own))
    assert best is not None
    total, own = best
    own["rest of the chunk: set-up, steady start, ledger"] = total - sum(own.values())
    n = plan.n_periods
    nodes = plan.n_facilities + plan.n_sinks
    print(
        f"{args.scenario}: chunk {chunk}, {n} periods, {nodes} nodes, {plan.n_routes} routes; "
        f"fastest of {args.rounds} rounds {total * 1e3:.1f} ms "
        f"({total / (n * chunk * nodes) * 1e9:.0f} ns per node-replicate-period)\n"
    )
    print("| step (own time) | us per period | share |")
    print("|---|---:|---:|")
    for label, seconds in own.most_common():
        print(f"| {label} | {seconds / n * 1e6:.0f} | {seconds / total:.1%} |")


if __name__ == "__main__":
    main()
