"""Scaling of the vectorised core: time and peak memory against replicates, periods and nodes.

Each point runs in a fresh Python process, so its peak resident memory
(VmHWM, reset to the current RSS just before the run) is its own. A point reports the wall time, the time in the
period loop alone, the peak RSS, and the RSS before the run (after imports,
compiling the plan and a one-replicate warm-up), so ``peak - base`` is what
the run itself needed.

Sweeps (``--quick`` uses fewer and smaller points):

* ``replicates``: default scenario, fixed chunk; the kernel (chunks of
  samples through the period loop, outputs dropped) and ``reesim.simulate``
  with ``record="none"`` (which also keeps every replicate's metrics).
* ``periods``: default scenario with its horizon stretched (weekly periods).
* ``nodes``: generated networks of 10 to 1,000 facilities (:mod:`netgen`).
* ``chunk``: world-2024 at a fixed replicate count, chunk sizes varied: the
  memory a chunk costs and where the time per element is lowest.

Usage::

    python benchmarks/scaling.py [--quick] [--out scaling.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: A point is repeated (median reported) while its repeats total less than this, up to 5 times.
REPEAT_BUDGET_S = 2.0
MAX_REPEATS = 5


# ---------------------------------------------------------------------------- one point
def _mem_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process, MiB.

    Read from /proc/self/status (VmRSS, VmHWM): ``ru_maxrss`` would be wrong
    here, since Linux carries the parent's high-water mark into a child
    across fork and exec, so every point would report the suite's own peak.
    """
    try:
        fields = dict(
            line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines()
        )
        return int(fields["VmRSS"].split()[0]) / 1024.0, int(fields["VmHWM"].split()[0]) / 1024.0
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        return peak, peak


def _reset_peak() -> bool:
    """Reset the high-water mark to the current RSS (Linux >= 4.0); False if not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _scenario(point: dict[str, Any]) -> Any:
    import datetime as dt

    import reesim

    if point["scenario"] == "netgen":
        sys.path.insert(0, str(HERE))
        import netgen

        return netgen.scenario(point["facilities"], periods=point.get("periods") or 52)
    sc = reesim.load_scenario(point["scenario"])
    weeks = point.get("periods")
    if weeks:
        end = sc.time.start + dt.timedelta(days=7 * weeks)
        sc = sc.model_copy(update={"time": sc.time.model_copy(update={"end": end})})
    return sc


def measure(point: dict[str, Any]) -> dict[str, Any]:
    """Run one point in this process and return its figures (call in a fresh process)."""
    import numpy as np

    import reesim
    from reesim.engine.vector import run_vector
    from reesim.plan import compile_plan
    from reesim.sampling import draw_samples

    warnings.simplefilter("ignore")
    sc = _scenario(point)
    plan = compile_plan(sc)
    reps, chunk, seed = int(point["replicates"]), int(point["chunk"]), 1
    run_vector(plan, draw_samples(plan, seed, np.arange(1)), frozenset())  # warm-up
    base, peak_before = _mem_mb()
    reset = _reset_peak()
    walls: list[float] = []
    kernels: list[float] = []
    # Repeat while the repeats stay short, so a figure is a median where that is cheap.
    while len(walls) < MAX_REPEATS and sum(walls) < REPEAT_BUDGET_S:
        kernel = 0.0
        t0 = time.perf_counter()
        if point["mode"] == "kernel":
            for lo in range(0, reps, chunk):
                smp = draw_samples(plan, seed, np.arange(lo, min(reps, lo + chunk)))
                tb = time.perf_counter()
                run_vector(plan, smp, frozenset())
                kernel += time.perf_counter() - tb
                del smp
        else:
            reesim.simulate(sc, replicates=reps, seed=seed, chunk_size=chunk, record="none")
        walls.append(time.perf_counter() - t0)
        kernels.append(kernel)
    wall = float(np.median(walls))
    nodes = plan.n_facilities + plan.n_sinks
    return {
        **point,
        "nodes": nodes,
        "facilities_n": plan.n_facilities,
        "sinks": plan.n_sinks,
        "routes": plan.n_routes,
        "holdings": plan.n_holdings,
        "n_periods": plan.n_periods,
        "wall_s": wall,
        "repeats": len(walls),
        "wall_all_s": walls,
        "kernel_s": float(np.median(kernels)) if point["mode"] == "kernel" else None,
        "ns_per_node_rep_period": wall / (reps * plan.n_periods * nodes) * 1e9,
        "rss_base_mb": base,
        "rss_peak_before_run_mb": peak_before,
        "rss_peak_mb": _mem_mb()[1],
        "rss_run_mb": _mem_mb()[1] - base,
        "peak_reset": reset,
    }


def run_point(point: dict[str, Any]) -> dict[str, Any]:
    """Measure ``point`` in a fresh subprocess."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--point", json.dumps(point)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        return {**point, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- sweeps
def sweeps(quick: bool) -> dict[str, list[dict[str, Any]]]:
    """The points of every sweep."""
    d = {"scenario": "default"}
    if quick:
        reps, chunk = [256, 1024, 4096], 256
        weeks, p_reps = [52, 157, 417], 256
        facs, n_reps = [10, 100, 1000], 64
        chunks, c_reps = [64, 512], 512
    else:
        reps, chunk = [512, 2048, 8192, 32768], 512
        weeks, p_reps = [52, 104, 208, 417], 512
        facs, n_reps = [10, 30, 100, 300, 1000], 256
        chunks, c_reps = [64, 256, 1024, 2048], 2048
    return {
        "replicates": [
            {**d, "sweep": "replicates", "mode": m, "replicates": r, "chunk": chunk}
            for m in ("kernel", "simulate")
            for r in reps
        ],
        "periods": [
            {
                **d,
                "sweep": "periods",
                "mode": "kernel",
                "replicates": p_reps,
                "chunk": p_reps,
                "periods": w,
            }
            for w in weeks
        ],
        "nodes": [
            {
                "scenario": "netgen",
                "sweep": "nodes",
                "mode": "kernel",
                "facilities": n,
                "replicates": n_reps,
                "chunk": n_reps,
                "periods": 52,
            }
            for n in facs
        ],
        "chunk": [
            {
                "scenario": "world-2024",
                "sweep": "chunk",
                "mode": "kernel",
                "replicates": c_reps,
                "chunk": c,
            }
            for c in chunks
        ],
    }


def _fit(xs: list[float], ys: list[float]) -> dict[str, float]:
    """Least-squares line y = a + b x and its r^2."""
    import numpy as np

    x, y = np.asarray(xs, float), np.asarray(ys, float)
    if len(x) < 2:
        return {}
    b, a = np.polyfit(x, y, 1)
    pred = a + b * x
    ss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - pred) ** 2).sum()) / ss if ss > 0 else 1.0
    return {"intercept_s": float(a), "slope_s": float(b), "r2": r2}


def summarise(points: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Linearity and memory figures of each sweep."""
    out: dict[str, Any] = {}
    axis = {"replicates": "replicates", "periods": "n_periods", "nodes": "nodes", "chunk": "chunk"}
    for name, pts in points.items():
        ok = [p for p in pts if "error" not in p]
        for mode in sorted({p["mode"] for p in ok}):
            sel = [p for p in ok if p["mode"] == mode]
            if not sel:
                continue
            key = f"{name}/{mode}"
            costs = [p["ns_per_node_rep_period"] for p in sel]
            out[key] = {
                "x": [p[axis[name]] for p in sel],
                "wall_s": [p["wall_s"] for p in sel],
                "ns_per_node_rep_period": costs,
                "cost_spread": max(costs) / min(costs),
                "rss_run_mb": [p["rss_run_mb"] for p in sel],
                "rss_peak_mb": [p["rss_peak_mb"] for p in sel],
                "fit": _fit([p[axis[name]] for p in sel], [p["wall_s"] for p in sel]),
            }
    return out


def run(quick: bool = False, log: Any = print) -> dict[str, Any]:
    """Run every sweep (one subprocess per point) and summarise."""
    points: dict[str, list[dict[str, Any]]] = {}
    for name, pts in sweeps(quick).items():
        points[name] = []
        for p in pts:
            r = run_point(p)
            points[name].append(r)
            if "error" in r:
                log(f"  scaling {name} {p}: ERROR {r['error']}")
            else:
                log(
                    f"  scaling {name:10s} {p['mode']:8s} R={p['replicates']:<6d} "
                    f"chunk={p['chunk']:<5d} P={r['n_periods']:<4d} nodes={r['nodes']:<5d} "
                    f"{r['wall_s']:7.2f} s  {r['ns_per_node_rep_period']:6.0f} ns/nrp  "
                    f"peak {r['rss_peak_mb']:6.0f} MiB (run +{r['rss_run_mb']:.0f})"
                )
    return {"points": points, "summary": summarise(points)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--point", help="measure one point (JSON) in this process; internal")
    ap.add_argument("--quick", action="store_true", help="fewer, smaller points")
    ap.add_argument("--out", type=Path, help="write the results here as JSON")
    args = ap.parse_args()
    if args.point:
        print(json.dumps(measure(json.loads(args.point))))
        return
    res = run(args.quick)
    if args.out:
        args.out.write_text(json.dumps(res, indent=1))
    for key, s in res["summary"].items():
        print(key, {k: s[k] for k in ("x", "cost_spread", "rss_run_mb")})


if __name__ == "__main__":
    main()
