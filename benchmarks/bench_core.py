"""End-to-end speed and memory of the vectorised core on the built-in default scenario.

Each case runs in a fresh Python process, so that its peak resident memory
(``ru_maxrss``) belongs to that case alone. Reported per case: wall time of
``reesim.simulate``, throughput in node-replicate-periods per second (nodes =
facilities + sinks), peak resident memory of the process, and the growth of
the peak over the memory held once the scenario is loaded (what the run
itself added).

Usage::

    python benchmarks/bench_core.py            # 10,000 and 100,000 replicates
    python benchmarks/bench_core.py --quick    # 1,000 and 10,000 (a smoke test)

Results are printed as a table and written to
``benchmarks/results/core-<date>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import free_stem, write_atomic

HERE = Path(__file__).resolve().parent

#: (replicates, record) per case. "auto" keeps the sink series when they fit
#: in 512 MiB, "none" keeps only the per-replicate metrics and ledgers.
FULL = [(10_000, "auto"), (10_000, "none"), (100_000, "none")]
QUICK = [(1_000, "auto"), (10_000, "none")]


def _maxrss_mib() -> float:
    # Linux reports kibibytes, macOS bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def child(replicates: int, record: str, scenario: str, seed: int) -> dict[str, object]:
    """Run one case in this process and return its figures."""
    import numpy as np

    import reesim

    sc = reesim.load_scenario(scenario)
    # Warm up imports and caches on a tiny run so that the timing is the run's.
    reesim.simulate(sc, replicates=8, seed=seed, record="none")
    baseline = _maxrss_mib()
    started = time.perf_counter()
    res = reesim.simulate(sc, replicates=replicates, seed=seed, record=record)
    wall = time.perf_counter() - started
    peak = _maxrss_mib()
    plan = res.plan
    nodes = len(plan.facility_ids) + len(plan.sink_ids)
    work = nodes * replicates * plan.n_periods
    # A figure from the run, so that a broken run cannot pass for a fast one.
    p_short = float(res.summary().xs("time_to_shortage_weeks", level="metric")["p_any"].max())
    return {
        "scenario": scenario,
        "replicates": replicates,
        "record": record,
        "recorded": sorted(res.record),
        "chunk_size": res.chunk_size,
        "nodes": nodes,
        "facilities": len(plan.facility_ids),
        "sinks": len(plan.sink_ids),
        "routes": len(plan.route_ids),
        "periods": plan.n_periods,
        "wall_s": round(wall, 3),
        "node_replicate_periods_per_s": round(work / wall),
        "replicates_per_s": round(replicates / wall, 1),
        "peak_rss_mib": round(peak, 1),
        "baseline_rss_mib": round(baseline, 1),
        "run_rss_growth_mib": round(peak - baseline, 1),
        "max_p_short": round(p_short, 4),
        "numpy": np.__version__,
    }


def run_case(replicates: int, record: str, scenario: str, seed: int) -> dict[str, object]:
    """Run one case in a subprocess and return its figures."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(replicates),
        record,
        "--scenario",
        scenario,
        "--seed",
        str(seed),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"case {replicates} x {record} failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def table(rows: list[dict[str, object]]) -> str:
    """The figures as aligned text."""
    head = [
        "replicates",
        "record",
        "chunk",
        "wall, s",
        "node-rep-periods/s",
        "peak RSS, MiB",
        "run growth, MiB",
    ]
    body = [
        [
            f"{r['replicates']:,}",
            str(r["record"]),
            str(r["chunk_size"]),
            f"{r['wall_s']:.2f}",
            f"{r['node_replicate_periods_per_s']:,}",
            f"{r['peak_rss_mib']:,.0f}",
            f"{r['run_rss_growth_mib']:,.0f}",
        ]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--child", nargs=2, metavar=("REPLICATES", "RECORD"), help=argparse.SUPPRESS
    )
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--quick", action="store_true", help="smaller cases, for a smoke test")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)

    if args.child:
        figures = child(int(args.child[0]), args.child[1], args.scenario, args.seed)
        print(json.dumps(figures))
        return 0

    load_before = os.getloadavg()[0]
    rows = []
    for replicates, record in QUICK if args.quick else FULL:
        print(
            f"running {replicates:,} replicates, record={record} ...", file=sys.stderr, flush=True
        )
        rows.append(run_case(replicates, record, args.scenario, args.seed))
    first = rows[0]
    print(
        f"scenario {args.scenario!r}: {first['facilities']} facilities + {first['sinks']} sinks "
        f"= {first['nodes']} nodes, {first['routes']} routes, {first['periods']} periods"
    )
    print(table(rows))
    load_after = os.getloadavg()[0]
    print(
        f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after, "
        f"on {os.cpu_count()} CPUs: other work on the machine slows every figure"
    )

    from importlib.metadata import version

    report = {
        "benchmark": "core",
        "date": dt.date.today().isoformat(),
        "reesim": version("reesim"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "cases": rows,
    }
    if not args.no_save:
        folder = HERE / "results"
        folder.mkdir(parents=True, exist_ok=True)
        stem = free_stem(folder, "core-" + str(report["date"]))
        out = folder / f"{stem}.json"
        write_atomic(out, json.dumps(report, indent=2) + "\n")
        print(f"written to {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
