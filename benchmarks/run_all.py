"""Run the whole benchmark suite and write benchmarks/results/<date>.json and <date>.md.

Sections (see benchmarks/SUITE.md for what each measures and why):

1. ``kernel``  node-replicate-periods per second of the vectorised core on
   the default scenario and world-2024, 10^3 to 10^6 replicates as far as a
   time budget allows, plus the NumPy ceiling measured in the same process;
2. ``des``     per-replicate time of ``engine="des"`` against the vectorised core;
3. ``peer``    SupplyNetPy against reesim on the same chain, both checked
   against the closed form first;
4. ``scaling`` time and peak memory against replicates, periods and nodes
   (one fresh process per point, :mod:`scaling`);
5. ``e2e``     ``reesim run`` wall time and ``import reesim`` time, and which
   heavy modules the import pulls in.

Every figure is a median over repeated runs; every ratio is between two
figures measured in this run.

Usage::

    python benchmarks/run_all.py            # full suite, ~10-15 min on 2 cores
    python benchmarks/run_all.py --quick    # ~2-3 min
    python benchmarks/run_all.py --only kernel,peer
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

SECTIONS = ("kernel", "des", "peer", "scaling", "e2e")
HEAVY = ("pandas", "scipy", "matplotlib", "dask", "xarray", "pyarrow", "simpy", "tqdm", "numba")
#: Targets of the performance issue.
TARGET_PEER_RATIO = 1_000.0
TARGET_DES_RATIO = 1_000.0
TARGET_OP_EQ = 40.0
TARGET_RUN_S = 2.0

_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def median_time(fn: Callable[[], Any], repeats: int = 7, min_batch_s: float = 0.05) -> float:
    """Median seconds per call of ``fn``, timed in batches long enough to read the clock."""
    fn()
    number, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        t = time.perf_counter() - t0
        if t >= min_batch_s or number >= 1 << 20:
            break
        number *= 4
    samples = [t / number]
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return float(np.median(samples))


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*a: str) -> str:
        r = subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=False)
        return r.stdout.strip()

    import reesim

    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_modified": bool(git("status", "--porcelain", "--", "src")),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "reesim": reesim.__version__,
        "reesim_path": str(Path(reesim.__file__).parent),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }


# ------------------------------------------------------------------------------ kernel
def _ceiling(chunk: int, widths: dict[str, int]) -> dict[str, float]:
    """Seconds of one ``np.minimum(a, b, out=c)`` on float64 arrays of shape (chunk, width)."""
    out = {}
    rng = np.random.default_rng(0)
    for name, w in widths.items():
        a, b = rng.random((chunk, w)), rng.random((chunk, w))
        c = np.empty_like(a)
        out[name] = median_time(lambda a=a, b=b, c=c: np.minimum(a, b, out=c), repeats=9)
    return out


def _kernel_run(plan: Any, reps: int, chunk: int) -> dict[str, Any]:
    """One pass over ``reps`` replicates in chunks: sampling and period-loop times."""
    from reesim.engine.vector import run_vector
    from reesim.sampling import draw_samples

    sample = kernel = 0.0
    full_chunks = []
    for lo in range(0, reps, chunk):
        idx = np.arange(lo, min(reps, lo + chunk))
        t0 = time.perf_counter()
        smp = draw_samples(plan, 1, idx)
        t1 = time.perf_counter()
        run_vector(plan, smp, frozenset())
        t2 = time.perf_counter()
        sample += t1 - t0
        kernel += t2 - t1
        if len(idx) == chunk:
            full_chunks.append(t2 - t1)
    return {"sample_s": sample, "kernel_s": kernel, "chunk_kernel_s": full_chunks}


def _op_equivalents(t_chunk: float, chunk: int, plan: Any, ops: dict[str, float]) -> dict:
    nodes = plan.n_facilities + plan.n_sinks
    t_period = t_chunk / plan.n_periods
    per_nrp = t_period / (chunk * nodes)
    per_elem_h = ops["holdings"] / (chunk * plan.n_holdings)
    return {
        "period_s": t_period,
        "ns_per_node_rep_period": per_nrp * 1e9,
        "op_ns_per_element_holdings": per_elem_h * 1e9,
        "op_equivalents_per_node_rep_period": per_nrp / per_elem_h,
        "period_in_ops_on_holdings": t_period / ops["holdings"],
        "period_in_ops_on_routes": t_period / ops["routes"],
    }


def default_chunk_size(plan: Any) -> int:
    """The chunk ``simulate(record="none")`` picks (its module was renamed simulate -> simulation)."""
    try:
        from reesim.simulation import default_chunk_size as pick
    except ImportError:
        from reesim.simulate import default_chunk_size as pick  # type: ignore[no-redef]
    return int(pick(plan, frozenset()))


def _paired_ceiling(plan: Any, chunk: int, rounds: int) -> dict[str, Any]:
    """Op-equivalents from rounds of (one chunk through the core, then the op on its shapes).

    Pairing each core run with an op timing taken right after it keeps the
    ratio honest when the machine's speed drifts (other work, frequency).
    """
    from reesim.engine.vector import run_vector
    from reesim.sampling import draw_samples

    nodes = plan.n_facilities + plan.n_sinks
    widths = {"routes": plan.n_routes, "holdings": plan.n_holdings, "nodes": nodes}
    per_round = []
    for r in range(rounds):
        smp = draw_samples(plan, 1, np.arange(r * chunk, (r + 1) * chunk))
        t0 = time.perf_counter()
        run_vector(plan, smp, frozenset())
        t_chunk = time.perf_counter() - t0
        ops = _ceiling(chunk, widths)
        per_round.append(
            {"chunk_s": t_chunk, "op_s": ops, **_op_equivalents(t_chunk, chunk, plan, ops)}
        )
    keys = [k for k, v in per_round[0].items() if isinstance(v, float)]
    med = {k: float(np.median([x[k] for x in per_round])) for k in keys}
    ops_med = {w: float(np.median([x["op_s"][w] for x in per_round])) for w in widths}
    return {"chunk": chunk, "rounds": rounds, **med, "op_s": ops_med, "per_round": per_round}


def _paired_simulate(name: str, reps: int, rounds: int) -> dict[str, Any]:
    """Rounds of (kernel alone, then simulate()) on the same replicates: what simulate adds."""
    import reesim
    from reesim.plan import compile_plan

    sc = reesim.load_scenario(name)
    plan = compile_plan(sc)
    chunk = default_chunk_size(plan)
    kern, sim = [], []
    for _ in range(rounds):
        k = _kernel_run(plan, reps, chunk)
        kern.append(k["kernel_s"] + k["sample_s"])
        t0 = time.perf_counter()
        reesim.simulate(sc, replicates=reps, seed=1, record="none")
        sim.append(time.perf_counter() - t0)
    return {
        "replicates": reps,
        "rounds": rounds,
        "kernel_and_sampling_us_per_replicate": float(np.median(kern)) / reps * 1e6,
        "simulate_us_per_replicate": float(np.median(sim)) / reps * 1e6,
        "ratio_simulate_to_kernel": float(np.median(np.array(sim) / np.array(kern))),
        "kernel_s": kern,
        "simulate_s": sim,
    }


def kernel_section(quick: bool) -> dict[str, Any]:
    import reesim
    from reesim.plan import compile_plan

    budget = 12.0 if quick else 240.0
    ladder = [10**3, 10**4, 10**5, 10**6]
    out: dict[str, Any] = {}
    for name in ("default", "world-2024"):
        plan = compile_plan(reesim.load_scenario(name))
        nodes = plan.n_facilities + plan.n_sinks
        chunk = default_chunk_size(plan)
        info = {
            "facilities": plan.n_facilities,
            "sinks": plan.n_sinks,
            "nodes": nodes,
            "routes": plan.n_routes,
            "holdings": plan.n_holdings,
            "periods": plan.n_periods,
            "chunk": chunk,
        }
        probe = _kernel_run(plan, chunk, chunk)
        per_rep = (probe["kernel_s"] + probe["sample_s"]) / chunk
        spent, rows = 0.0, []
        for reps in ladder:
            predicted = per_rep * reps
            if predicted > budget - spent:
                rows.append(
                    {
                        "replicates": reps,
                        "skipped": f"predicted {predicted:.0f} s "
                        f"> remaining budget {budget - spent:.0f} s",
                    }
                )
                log(f"  kernel {name} R={reps}: skipped (predicted {predicted:.0f} s)")
                continue
            repeats = 5 if predicted < 1 else 3 if predicted < 15 else 1
            repeats = max(1, min(repeats, int((budget - spent) / max(predicted, 1e-9))))
            runs = [_kernel_run(plan, reps, chunk) for _ in range(repeats)]
            spent += sum(r["kernel_s"] + r["sample_s"] for r in runs)
            k_med = float(np.median([r["kernel_s"] for r in runs]))
            s_med = float(np.median([r["sample_s"] for r in runs]))
            chunk_times = [t for r in runs for t in r["chunk_kernel_s"]]
            c_med = float(np.median(chunk_times)) if chunk_times else k_med * chunk / reps
            per_rep = (k_med + s_med) / reps
            row = {
                "replicates": reps,
                "repeats": repeats,
                "kernel_s": k_med,
                "sample_s": s_med,
                "chunk_kernel_median_s": c_med,
                "chunks_timed": len(chunk_times),
                "nrp_per_s": reps * plan.n_periods * nodes / k_med,
                "nrp_per_s_chunk_median": chunk * plan.n_periods * nodes / c_med,
                "us_per_replicate": k_med / reps * 1e6,
            }
            rows.append(row)
            log(
                f"  kernel {name} R={reps}: {k_med:.2f} s kernel + {s_med:.2f} s sampling, "
                f"{row['nrp_per_s']:.3g} nrp/s"
            )
        ceiling = _paired_ceiling(plan, chunk, 5 if quick else 7)
        log(
            f"  ceiling {name} chunk {chunk}: "
            f"{ceiling['op_equivalents_per_node_rep_period']:.0f} op-equivalents per nrp"
        )
        alt = None
        if not quick:
            alt = _paired_ceiling(plan, 1024, 3)
            log(
                f"  ceiling {name} chunk 1024: "
                f"{alt['op_equivalents_per_node_rep_period']:.0f} op-equivalents per nrp"
            )
        simulate = _paired_simulate(name, 1000, 3 if quick else 5)
        log(
            f"  simulate {name} R=1000: {simulate['simulate_us_per_replicate']:.0f} us/replicate, "
            f"{simulate['ratio_simulate_to_kernel']:.2f}x the kernel alone"
        )
        out[name] = {
            **info,
            "ladder": rows,
            "ceiling": ceiling,
            "ceiling_chunk_1024": alt,
            "simulate_1000": simulate,
        }
    return out


# ------------------------------------------------------------------------------ des
def des_section(quick: bool) -> dict[str, Any]:
    if importlib.util.find_spec("reesim.engine.des") is None:
        return {"skipped": "reesim.engine.des is not there yet (engine='des' not available)"}
    import reesim

    out: dict[str, Any] = {}
    budget = 20.0 if quick else 90.0
    rounds = 3 if quick else 5
    for name in ("world-2024", "default"):
        sc = reesim.load_scenario(name)
        try:
            t0 = time.perf_counter()
            reesim.simulate(sc, replicates=1, seed=1, engine="des", record="none")
            probe = time.perf_counter() - t0
        except Exception as exc:  # a reference engine still being written may fail
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        reps = int(max(1, min(20, (budget / 2) / (rounds * probe))))
        des, vec = [], []
        for _ in range(rounds):  # interleaved, so both see the same machine
            t0 = time.perf_counter()
            reesim.simulate(sc, replicates=reps, seed=1, engine="des", record="none")
            des.append((time.perf_counter() - t0) / reps)
            t0 = time.perf_counter()
            reesim.simulate(sc, replicates=1000, seed=1, engine="vector", record="none")
            vec.append((time.perf_counter() - t0) / 1000)
        ratio = float(np.median(np.array(des) / np.array(vec)))
        out[name] = {
            "des_replicates": reps,
            "vector_replicates": 1000,
            "rounds": rounds,
            "des_per_replicate_s": float(np.median(des)),
            "vector_per_replicate_s": float(np.median(vec)),
            "des_per_replicate_all_s": des,
            "vector_per_replicate_all_s": vec,
            "ratio": ratio,
            "agreement": _engines_agree(sc, min(reps, 8)),
        }
        log(
            f"  des {name}: des {np.median(des) * 1e3:.1f} ms/rep, vector "
            f"{np.median(vec) * 1e3:.3f} ms/rep, ratio {ratio:.0f}x"
        )
    return out


def _engines_agree(sc: Any, reps: int) -> dict[str, Any]:
    """Largest difference in unmet tonnes per (replicate, sink) between the engines."""
    import reesim

    try:
        a = reesim.simulate(sc, replicates=reps, seed=3, engine="vector", record="none").metrics
        b = reesim.simulate(sc, replicates=reps, seed=3, engine="des", record="none").metrics
        diff = float(np.max(np.abs(a["unmet_t"].to_numpy() - b["unmet_t"].to_numpy())))
        scale = float(max(1.0, np.max(np.abs(a["unmet_t"].to_numpy()))))
        return {"replicates": reps, "max_abs_diff_unmet_t": diff, "relative": diff / scale}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------------------ peer
def peer_section(quick: bool) -> dict[str, Any]:
    from peers import reesim_chain, supplynetpy_chain

    out: dict[str, Any] = {}
    mine = reesim_chain.check()
    out["reesim_check"] = mine
    log(f"  peer check reesim: {mine}")
    if importlib.util.find_spec("SupplyNetPy") is None:
        out["skipped"] = "SupplyNetPy is not installed (pip install -e '.[bench]')"
        return out
    out["supplynetpy_version"] = supplynetpy_chain.version()
    theirs = supplynetpy_chain.check()
    out["supplynetpy_check"] = theirs
    log(f"  peer check SupplyNetPy: {theirs}")
    if not (mine["ok"] and theirs["ok"]):
        out["skipped"] = "a tool missed the closed form; not timed"
        return out
    rounds, snp_n, ree_n = (3, 3, 1000) if quick else (5, 5, 5000)
    snp, ree = [], []
    for _ in range(rounds):  # interleaved, so both see the same machine
        snp.append(supplynetpy_chain.time_per_replicate(snp_n)["per_replicate_s"])
        ree.append(reesim_chain.time_per_replicate(ree_n, 1)["per_replicate_s"])
    ratio = float(np.median(np.array(snp) / np.array(ree)))
    out.update(
        rounds=rounds,
        supplynetpy={
            "replicates_per_round": snp_n,
            "per_replicate_s": float(np.median(snp)),
            "per_round_s": snp,
        },
        reesim={
            "replicates_per_round": ree_n,
            "per_replicate_s": float(np.median(ree)),
            "per_round_s": ree,
        },
        ratio=ratio,
    )
    log(
        f"  peer: SupplyNetPy {np.median(snp) * 1e3:.1f} ms/rep, reesim "
        f"{np.median(ree) * 1e6:.0f} us/rep, ratio {ratio:.0f}x"
    )
    return out


# ------------------------------------------------------------------------------ e2e
def _wall(cmd: list[str], repeats: int) -> dict[str, Any]:
    walls, code = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        walls.append(time.perf_counter() - t0)
        code = code or r.returncode
    return {"median_s": float(np.median(walls)), "walls_s": walls, "returncode": code}


def e2e_section(quick: bool) -> dict[str, Any]:
    py = sys.executable
    n = 3 if quick else 7
    bare = _wall([py, "-c", "pass"], n)
    imp = _wall([py, "-c", "import reesim"], n)
    probe = (
        f"import json, sys, reesim; print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    r = subprocess.run([py, "-c", probe], capture_output=True, text=True, check=False)
    heavy = json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr[-300:]}
    r = subprocess.run(
        [py, "-X", "importtime", "-c", "import reesim"], capture_output=True, text=True, check=False
    )
    cumulative = []
    for line in r.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            depth = (len(name) - len(name.lstrip())) // 2
            cumulative.append((int(parts[1]), name.strip(), depth))
    # The slowest imports below reesim itself, whatever their depth.
    cumulative = sorted((c for c in cumulative if c[1] != "reesim"), reverse=True)
    run = _wall([py, "-m", "reesim", "run", "--replicates", "1000", "--quiet"], 3 if quick else 5)
    log(
        f"  e2e: import {imp['median_s']:.2f} s (bare python {bare['median_s']:.2f} s), "
        f"reesim run {run['median_s']:.2f} s (rc {run['returncode']})"
    )
    return {
        "python_bare": bare,
        "import_reesim": imp,
        "heavy_modules_after_import": heavy,
        "importtime_top_ms": [
            {"module": m, "ms": us / 1000, "depth": d} for us, m, d in cumulative[:12]
        ],
        "reesim_run_default_1000": run,
    }


# ------------------------------------------------------------------------------ report
def markdown(res: dict[str, Any]) -> str:
    """A short table of every figure, with the targets."""
    m = res["machine"]
    lines = [
        f"# reesim benchmarks, {m['date']}{' (quick)' if res['quick'] else ''}",
        "",
        f"commit {m['commit']}"
        f"{' (src/ as committed)' if m.get('snapshot_of_head') else ' (working tree, src modified)' if m['src_modified'] else ''}, Python "
        f"{m['python']}, NumPy {m['numpy']}, {m['cpus']} CPUs ({m['cpu']}), load average "
        f"{m['loadavg_start'][0]:.1f} at start. Medians over repeated runs; ratios from this "
        f"run. nrp = node-replicate-period; nodes = facilities + sinks.",
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
    ]

    def row(fig: str, val: str, target: str = "", met: bool | None = None) -> None:
        lines.append(
            f"| {fig} | {val} | {target} | {'' if met is None else 'yes' if met else 'NO'} |"
        )

    k = res.get("kernel", {})
    for name, s in k.items():
        for r in s["ladder"]:
            if "skipped" in r:
                row(f"kernel {name}, {r['replicates']:.0e} replicates", f"skipped: {r['skipped']}")
            else:
                row(
                    f"kernel {name}, {r['replicates']:.0e} replicates (chunk {s['chunk']})",
                    f"{r['nrp_per_s']:.3g} nrp/s ({r['nrp_per_s_chunk_median']:.3g} by the "
                    f"median chunk), {r['us_per_replicate']:.0f} us/replicate "
                    f"(+{r['sample_s'] / r['replicates'] * 1e6:.0f} us sampling)",
                )
        sim = s.get("simulate_1000")
        if sim:
            row(
                f"simulate() {name}, 1,000 replicates, record='none'",
                f"{sim['simulate_us_per_replicate']:.0f} us/replicate = "
                f"{sim['ratio_simulate_to_kernel']:.2f}x sampling + kernel "
                f"({sim['kernel_and_sampling_us_per_replicate']:.0f} us), interleaved",
            )
        for key in ("ceiling", "ceiling_chunk_1024"):
            c = s.get(key)
            if c:
                oe = c["op_equivalents_per_node_rep_period"]
                row(
                    f"op-equivalents per nrp, {name}, chunk {c['chunk']}",
                    f"{oe:.0f} ({c['ns_per_node_rep_period']:.0f} ns/nrp; one op "
                    f"{c['op_ns_per_element_holdings']:.2f} ns/element; a period = "
                    f"{c['period_in_ops_on_holdings']:.0f} ops on (chunk x holdings); median of "
                    f"{c['rounds']} paired rounds)",
                    f"<= {TARGET_OP_EQ:.0f}" if name == "world-2024" else "",
                    oe <= TARGET_OP_EQ if name == "world-2024" else None,
                )
    d = res.get("des", {})
    if "skipped" in d:
        row("vector vs des", f"skipped: {d['skipped']}", f">= {TARGET_DES_RATIO:.0f}x")
    for name, s in d.items():
        if isinstance(s, dict) and "ratio" in s:
            row(
                f"vector vs des per replicate, {name}",
                f"{s['ratio']:.0f}x (des {s['des_per_replicate_s'] * 1e3:.1f} ms, vector "
                f"{s['vector_per_replicate_s'] * 1e6:.0f} us)",
                f">= {TARGET_DES_RATIO:.0f}x" if name == "world-2024" else "",
                s["ratio"] >= TARGET_DES_RATIO if name == "world-2024" else None,
            )
        elif isinstance(s, dict) and "error" in s:
            row(f"vector vs des, {name}", f"des failed: {s['error'][:120]}")
    p = res.get("peer", {})
    for tool in ("reesim_check", "supplynetpy_check"):
        c = p.get(tool)
        if c:
            row(
                f"closed form, {c['tool']}",
                f"{c['short_days']} short days, "
                f"{c['unmet_units']:.0f} unmet (days {c['first_short_day']}-{c['last_short_day']})",
                "30 days, 300 units (+-1 day)",
                c["ok"],
            )
    if "ratio" in p:
        row(
            "reesim vs SupplyNetPy per replicate (chain)",
            f"{p['ratio']:.0f}x (SupplyNetPy {p['supplynetpy']['per_replicate_s'] * 1e3:.1f} ms, "
            f"reesim {p['reesim']['per_replicate_s'] * 1e6:.0f} us)",
            f">= {TARGET_PEER_RATIO:.0f}x",
            p["ratio"] >= TARGET_PEER_RATIO,
        )
    elif "skipped" in p:
        row("reesim vs SupplyNetPy", f"skipped: {p['skipped']}")
    sc = res.get("scaling", {}).get("summary", {})
    for key, s in sc.items():
        costs = ", ".join(f"{c:.0f}" for c in s["ns_per_node_rep_period"])
        mem = ", ".join(f"{m:.0f}" for m in s["rss_run_mb"])
        xs = ", ".join(str(x) for x in s["x"])
        row(
            f"scaling {key}: x = {xs}",
            f"ns/nrp {costs} (max/min {s['cost_spread']:.2f}); run memory MiB {mem}; "
            f"r2 of time vs x {s['fit'].get('r2', float('nan')):.3f}",
        )
    e = res.get("e2e")
    if e:
        run = e["reesim_run_default_1000"]
        row(
            "`reesim run` default, 1,000 replicates (wall, import included)",
            f"{run['median_s']:.2f} s (rc {run['returncode']})",
            f"< {TARGET_RUN_S:.0f} s",
            run["median_s"] < TARGET_RUN_S and run["returncode"] == 0,
        )
        top = ", ".join(f"{x['module']} {x['ms']:.0f}" for x in e["importtime_top_ms"][:5])
        row("slowest imports under `import reesim` (cumulative ms)", top)
        row(
            "`python -c 'import reesim'`",
            f"{e['import_reesim']['median_s']:.2f} s "
            f"(bare python {e['python_bare']['median_s']:.2f} s)",
        )
        heavy = e["heavy_modules_after_import"]
        loaded = [mod for mod, on in heavy.items() if on is True]
        bad = [mod for mod in loaded if mod in ("pandas", "scipy", "matplotlib", "dask")]
        row(
            "heavy modules loaded by `import reesim`",
            ", ".join(loaded) or "none",
            "no pandas, scipy, matplotlib, dask",
            not bad,
        )
    lines += ["", f"Suite wall time: {res['suite_wall_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def _use_snapshot() -> None:
    """Import reesim from a copy of src/ at git HEAD, here and in every subprocess.

    Edits in progress in the working tree then cannot change or break a run.
    """
    import io
    import tarfile
    import tempfile

    dest = Path(tempfile.mkdtemp(prefix="reesim-head-"))
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD", "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    src = str(dest / "src")
    sys.path.insert(0, src)
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])
    log(f"measuring the committed src/ copied to {src}")


def main() -> None:
    ap = argparse.ArgumentParser(description="Run the reesim benchmark suite.")
    ap.add_argument("--quick", action="store_true", help="small sizes, ~2-3 minutes")
    ap.add_argument("--only", help=f"comma-separated sections of {','.join(SECTIONS)}")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    ap.add_argument(
        "--snapshot",
        action="store_true",
        help="measure the committed src/ (git HEAD) instead of the working tree",
    )
    ap.add_argument("--render", type=Path, help="only rewrite the .md of this results .json")
    args = ap.parse_args()
    if args.render:
        args.render.with_suffix(".md").write_text(markdown(json.loads(args.render.read_text())))
        return
    only = args.only.split(",") if args.only else list(SECTIONS)
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        ap.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    warnings.simplefilter("ignore")
    if args.snapshot:
        _use_snapshot()
    res: dict[str, Any] = {"quick": args.quick, "machine": machine(), "sections": only}
    res["machine"]["snapshot_of_head"] = bool(args.snapshot)
    runners = {
        "kernel": kernel_section,
        "des": des_section,
        "peer": peer_section,
        "e2e": e2e_section,
    }
    for name in SECTIONS:
        if name not in only:
            continue
        log(f"{name} ...")
        t0 = time.perf_counter()
        if name == "scaling":
            import scaling

            res[name] = scaling.run(args.quick, log=log)
        else:
            res[name] = runners[name](args.quick)
        res.setdefault("section_wall_s", {})[name] = time.perf_counter() - t0
    res["machine"]["loadavg_end"] = os.getloadavg()
    res["suite_wall_s"] = time.perf_counter() - _T0
    args.out.mkdir(parents=True, exist_ok=True)
    stem = dt.date.today().isoformat() + ("-quick" if args.quick else "")
    (args.out / f"{stem}.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(res))
    print(markdown(res))
    log(f"wrote {args.out / stem}.json and .md")


if __name__ == "__main__":
    main()
