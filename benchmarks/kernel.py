"""The ``kernel`` section: throughput of each engine's period loop and the NumPy ceiling.

For the default scenario and world-2024:

* a ladder of 10^3 ... 10^6 replicates through each engine's own entry point
  (``run_vector``; ``run_numba`` at numba's default thread count), chunk by
  chunk, sampling timed apart, the engines alternating within each point;
* the ceiling: rounds of (one chunk through an engine, then one
  ``np.minimum(a, b, out=c)`` on arrays of the core's state shapes), for the
  core, the compiled kernel at its default thread count and at one thread;
* ``simulate(record="none")`` against sampling plus the kernel alone, per engine.

See SUITE.md, sections 1 and 2.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from common import (
    chunk_runner,
    default_chunk_size,
    default_threads,
    engines,
    log,
    med,
    median_time,
    numba_threads,
    ratio_of,
    variants,
)

LADDER = (10**3, 10**4, 10**5, 10**6)
#: Seconds the ladder may take per scenario, all engines together. The full budget fits
#: 10^6 replicates of world-2024 through both engines (about 300 s + 90 s on 2 cores).
BUDGET_S = {True: 20.0, False: 720.0}


def _kernel_run(plan: Any, reps: int, chunk: int, engine: str) -> dict[str, Any]:
    """One pass over ``reps`` replicates in chunks: sampling and period-loop times."""
    from reesim.sampling import draw_samples

    run = chunk_runner(engine)
    sample = kernel = 0.0
    full_chunks = []
    for lo in range(0, reps, chunk):
        idx = np.arange(lo, min(reps, lo + chunk))
        t0 = time.perf_counter()
        smp = draw_samples(plan, 1, idx)
        t1 = time.perf_counter()
        run(plan, smp, frozenset())
        t2 = time.perf_counter()
        sample += t1 - t0
        kernel += t2 - t1
        if len(idx) == chunk:
            full_chunks.append(t2 - t1)
    return {"sample_s": sample, "kernel_s": kernel, "chunk_kernel_s": full_chunks}


def _stats(runs: list[dict[str, Any]], reps: int, chunk: int, nrp_per_rep: int) -> dict[str, Any]:
    k_med = med([r["kernel_s"] for r in runs])
    s_med = med([r["sample_s"] for r in runs])
    chunk_times = [t for r in runs for t in r["chunk_kernel_s"]]
    c_med = med(chunk_times) if chunk_times else k_med * chunk / reps
    return {
        "kernel_s": k_med,
        "sample_s": s_med,
        "kernel_s_all": [r["kernel_s"] for r in runs],
        "chunk_kernel_median_s": c_med,
        "chunks_timed": len(chunk_times),
        "nrp_per_s": reps * nrp_per_rep / k_med,
        "nrp_per_s_chunk_median": chunk * nrp_per_rep / c_med,
        "us_per_replicate": k_med / reps * 1e6,
        "sample_us_per_replicate": s_med / reps * 1e6,
    }


def _ladder(plan: Any, name: str, budget: float) -> list[dict[str, Any]]:
    """Each point runs both engines in alternation when both fit the budget left.

    Each engine runs in the chunks ``simulate()`` gives it.

    When they do not, the faster engine alone, then the slower; a point
    nothing fits is listed as skipped with its predicted time.
    """
    engs = engines()
    chunks = {e: default_chunk_size(plan, e) for e in engs}
    nrp_per_rep = (plan.n_facilities + plan.n_sinks) * plan.n_periods
    per_rep = {}
    for e in engs:
        probe = _kernel_run(plan, chunks[e], chunks[e], e)
        per_rep[e] = (probe["kernel_s"] + probe["sample_s"]) / chunks[e]
    spent, rows = 0.0, []
    # Both engines if they fit, else the faster alone (it reaches the larger sizes).
    singles = sorted(engs, key=lambda e: per_rep[e])
    options = [engs] + ([[e] for e in singles] if len(engs) > 1 else [])
    for reps in LADDER:
        left = budget - spent
        pred = {e: per_rep[e] * reps for e in engs}
        chosen = next((o for o in options if sum(pred[e] for e in o) <= left), [])
        row: dict[str, Any] = {"replicates": reps, "engines": {}}
        skipped = {
            e: f"predicted {pred[e]:.0f} s > remaining budget {left:.0f} s"
            for e in engs
            if e not in chosen
        }
        if skipped:
            row["skipped"] = skipped
            log(f"  kernel {name} R={reps}: skipped {skipped}")
        if not chosen:
            rows.append(row)
            continue
        total = sum(pred[e] for e in chosen)
        repeats = 5 if total < 1 else 3 if total < 15 else 1
        repeats = max(1, min(repeats, int(left / max(total, 1e-9))))
        runs: dict[str, list[dict[str, Any]]] = {e: [] for e in chosen}
        for _ in range(repeats):  # alternating, so both engines see the same machine
            for e in chosen:
                runs[e].append(_kernel_run(plan, reps, chunks[e], e))
        row["repeats"] = repeats
        for e in chosen:
            spent += sum(r["kernel_s"] + r["sample_s"] for r in runs[e])
            st = _stats(runs[e], reps, chunks[e], nrp_per_rep)
            st["chunk"] = chunks[e]
            per_rep[e] = (st["kernel_s"] + st["sample_s"]) / reps
            row["engines"][e] = st
            log(
                f"  kernel {name} R={reps} {e}: {st['kernel_s']:.2f} s kernel + "
                f"{st['sample_s']:.2f} s sampling, {st['nrp_per_s']:.3g} nrp/s"
            )
        if len(chosen) == 2:
            row["speedup_numba_over_vector"] = ratio_of(
                [r["kernel_s"] for r in runs["vector"]],
                [r["kernel_s"] for r in runs["numba"]],
            )
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------ ceiling
def _ceiling(chunk: int, widths: dict[str, int]) -> dict[str, float]:
    """Seconds of one ``np.minimum(a, b, out=c)`` on float64 arrays of shape (chunk, width)."""
    out = {}
    rng = np.random.default_rng(0)
    for name, w in widths.items():
        a, b = rng.random((chunk, w)), rng.random((chunk, w))
        c = np.empty_like(a)
        # Batches of >= 20 ms read the clock well; the op itself takes microseconds.
        out[name] = median_time(
            lambda a=a, b=b, c=c: np.minimum(a, b, out=c), repeats=7, min_batch_s=0.02
        )
        if name == "holdings":
            out["holdings_cold"] = _cold_op(a, b, c)
    return out


def _cold_op(a: np.ndarray, b: np.ndarray, c: np.ndarray, repeats: int = 25) -> float:
    """Median seconds of ``np.minimum(a, b, out=c)`` right after a, b and c left the core's cache.

    A 64 MiB sweep (more than any core's L2) runs before each timed op, so the
    op reads its arrays from the shared cache or memory, as the core's period
    steps read most of theirs: a period's arrays together exceed L2.
    """
    sweep = np.ones(8 * 2**20)
    times = []
    for _ in range(repeats):
        sweep += 1.0
        t0 = time.perf_counter()
        np.minimum(a, b, out=c)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


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
        "op_cold_ns_per_element_holdings": ops["holdings_cold"] / (chunk * plan.n_holdings) * 1e9,
        "op_equivalents_cold": per_nrp / (ops["holdings_cold"] / (chunk * plan.n_holdings)),
        "period_in_ops_on_holdings": t_period / ops["holdings"],
        "period_in_ops_on_routes": t_period / ops["routes"],
    }


def _paired_ceiling(plan: Any, chunk: int, rounds: int) -> dict[str, Any]:
    """Op-equivalents of each engine variant from rounds of (one chunk, then the op).

    Each chunk run is followed by an op timing on its shapes, so every ratio
    is between two timings taken seconds apart: a machine whose speed drifts
    (other work, frequency) moves both. Within a round the variants follow
    one another, on the same replicates.
    """
    from reesim.sampling import draw_samples

    nodes = plan.n_facilities + plan.n_sinks
    widths = {"routes": plan.n_routes, "holdings": plan.n_holdings, "nodes": nodes}
    vs = variants()
    per: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in vs}
    for r in range(rounds):
        idx = np.arange(r * chunk, (r + 1) * chunk)
        for key, eng, threads in vs:
            smp = draw_samples(plan, 1, idx)  # fresh, so no engine sees another's arrays
            run = chunk_runner(eng)
            with numba_threads(threads):
                t0 = time.perf_counter()
                run(plan, smp, frozenset())
                t_chunk = time.perf_counter() - t0
            ops = _ceiling(chunk, widths)
            per[key].append(
                {"chunk_s": t_chunk, "op_s": ops, **_op_equivalents(t_chunk, chunk, plan, ops)}
            )
    out: dict[str, Any] = {"chunk": chunk, "rounds": rounds}
    for key, eng, threads in vs:
        rows = per[key]
        floats = [k for k, v in rows[0].items() if isinstance(v, float)]
        summary = {k: med([x[k] for x in rows]) for k in floats}
        summary["op_s"] = {w: med([x["op_s"][w] for x in rows]) for w in widths}
        if eng == "numba":
            # run_numba gives each thread at least one group of lanes
            from reesim.engine.compiled_kernel import lanes_for

            lanes = lanes_for(plan.n_routes)
            summary["threads"] = max(1, min(threads or default_threads(), chunk // lanes))
        summary["per_round"] = rows
        out[key] = summary
    return out


def _paired_simulate(name: str, reps: int, rounds: int) -> dict[str, Any]:
    """Rounds of (kernel alone, then simulate()) per engine: what simulate() adds."""
    import reesim
    from reesim.plan import compile_plan

    sc = reesim.load_scenario(name)
    plan = compile_plan(sc)
    kern: dict[str, list[float]] = {e: [] for e in engines()}
    sim: dict[str, list[float]] = {e: [] for e in engines()}
    for _ in range(rounds):
        for e in engines():
            k = _kernel_run(plan, reps, default_chunk_size(plan, e), e)
            kern[e].append(k["kernel_s"] + k["sample_s"])
            t0 = time.perf_counter()
            reesim.simulate(sc, replicates=reps, seed=1, record="none", engine=e)
            sim[e].append(time.perf_counter() - t0)
    out: dict[str, Any] = {"replicates": reps, "rounds": rounds}
    for e in engines():
        out[e] = {
            "kernel_and_sampling_us_per_replicate": med(kern[e]) / reps * 1e6,
            "simulate_us_per_replicate": med(sim[e]) / reps * 1e6,
            "ratio_simulate_to_kernel": ratio_of(sim[e], kern[e]),
            "kernel_s": kern[e],
            "simulate_s": sim[e],
        }
        log(
            f"  simulate {name} R={reps} {e}: "
            f"{out[e]['simulate_us_per_replicate']:.0f} us/replicate, "
            f"{out[e]['ratio_simulate_to_kernel']:.2f}x the kernel alone"
        )
    if len(engines()) == 2:
        out["speedup_numba_over_vector"] = ratio_of(sim["vector"], sim["numba"])
    return out


def kernel_section(quick: bool) -> dict[str, Any]:
    import reesim
    from reesim.plan import compile_plan
    from reesim.sampling import draw_samples

    out: dict[str, Any] = {}
    for name in ("default", "world-2024"):
        plan = compile_plan(reesim.load_scenario(name))
        chunk = default_chunk_size(plan)
        info: dict[str, Any] = {
            "facilities": plan.n_facilities,
            "sinks": plan.n_sinks,
            "nodes": plan.n_facilities + plan.n_sinks,
            "routes": plan.n_routes,
            "holdings": plan.n_holdings,
            "periods": plan.n_periods,
            "chunk": chunk,
        }
        if "numba" in engines():
            # First call in this process: loads the suite's warm on-disk cache (or compiles).
            smp = draw_samples(plan, 1, np.arange(8))
            t0 = time.perf_counter()
            chunk_runner("numba")(plan, smp, frozenset())
            info["numba_first_call_s"] = time.perf_counter() - t0
            info["numba_default_threads"] = default_threads()
        if "numba" in engines():
            info["chunk_numba"] = default_chunk_size(plan, "numba")
        rows = _ladder(plan, name, BUDGET_S[quick])
        ceiling = _paired_ceiling(plan, chunk, 5 if quick else 7)
        for key, _, _ in variants():
            log(
                f"  ceiling {name} chunk {chunk} {key}: "
                f"{ceiling[key]['op_equivalents_per_node_rep_period']:.0f} op-equivalents per nrp"
            )
        alt = None
        if not quick and chunk != 1024:
            alt = _paired_ceiling(plan, 1024, 3)
            for key, _, _ in variants():
                log(
                    f"  ceiling {name} chunk 1024 {key}: "
                    f"{alt[key]['op_equivalents_per_node_rep_period']:.0f} op-equivalents per nrp"
                )
        simulate = _paired_simulate(name, 1000, 3 if quick else 5)
        out[name] = {
            **info,
            "ladder": rows,
            "ceiling": ceiling,
            "ceiling_chunk_1024": alt,
            "simulate_1000": simulate,
        }
    return out
