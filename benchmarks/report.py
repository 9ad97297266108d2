"""The markdown table of a benchmark run: one row per figure and engine, with its target.

``markdown(results)`` renders the dict :mod:`run_all` writes as JSON;
``python benchmarks/run_all.py --render <file>.json`` rewrites a table.
"""

from __future__ import annotations

from typing import Any

#: Targets of the performance work.
TARGET_PEER_RATIO = 1_000.0
TARGET_PEER_RATIO_COMPILED = 10_000.0
TARGET_DES_RATIO = 1_000.0
TARGET_OP_EQ = 40.0
TARGET_RUN_S = 2.0
TARGET_SCENARIO = "world-2024"


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def _load(m: dict[str, Any], key: str) -> str:
    la = m.get(key)
    return "n/a" if not la else " / ".join(f"{x:.2f}" for x in la)


def _header(res: dict[str, Any]) -> list[str]:
    m = res["machine"]
    if m.get("snapshot_of_head"):
        src = " (src/ as committed)"
    elif m.get("src_modified"):
        src = " (working tree: src/ has uncommitted changes)"
    else:
        src = ""
    numba = (
        f", numba {m['numba']} ({m['numba_default_threads']} threads by default)"
        if "numba" in m
        else ""
    )
    left_out = res.get("numba_left_out")
    return [
        f"# reesim benchmarks, {m['date']}{' (quick)' if res['quick'] else ''}",
        "",
        f"commit {m['commit']}{src}; Python {m['python']}, NumPy {m['numpy']}{numba}; "
        f"{m['cpus']} CPUs ({m['cpu']}).",
        "",
        f"Load average (1 / 5 / 15 min): {_load(m, 'loadavg_start')} at start, "
        f"{_load(m, 'loadavg_end')} at end. Other work on the machine slows every figure; "
        "ratios are measured in alternating rounds of the same run, so both sides see it.",
        "",
        "Engines: `vector` = the NumPy core; `numba` = the compiled kernel at numba's default "
        "thread count, `numba, 1 thread` with one. Medians over repeated runs. nrp = "
        "node-replicate-period; nodes = facilities + sinks."
        + (f" The compiled kernel is left out: {left_out}." if left_out else ""),
        "",
        "| figure | engine | value | target | met |",
        "|---|---|---|---|---|",
    ]


def markdown(res: dict[str, Any]) -> str:
    """A table of every figure, engine by engine, with the targets and whether they are met."""
    if "engines" not in res:
        raise SystemExit(
            "this results file was written by the suite before it compared engines; "
            "its .md was written with it"
        )
    lines = _header(res)

    def row(fig: str, eng: str, val: str, target: str = "", met: str | bool | None = None) -> None:
        shown = "" if met is None else met if isinstance(met, str) else _yes(met)
        lines.append(f"| {fig} | {eng} | {val} | {target} | {shown} |")

    _startup_rows(res.get("numba_startup"), res.get("kernel", {}), row)
    for name, s in res.get("kernel", {}).items():
        _kernel_rows(name, s, row)
    _des_rows(res.get("des", {}), row)
    _peer_rows(res.get("peer", {}), row)
    _scaling_rows(res.get("scaling", {}).get("summary", {}), row)
    _e2e_rows(res.get("e2e"), row)
    walls = res.get("section_wall_s", {})
    lines += [
        "",
        f"Suite wall time: {res['suite_wall_s']:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in walls.items())
        + ").",
    ]
    return "\n".join(lines) + "\n"


def _startup_rows(st: dict[str, Any] | None, res_kernel: dict[str, Any], row: Any) -> None:
    if not st:
        return
    if "error" in st:
        row("compiled kernel start-up", "numba", f"failed: {st['error'][-150:]!r}")
        return
    c, lo = st["compile"], st["cache_load"]
    row(
        "first use, empty cache: compile (excluded from every other figure)",
        "numba",
        f"{c['startup_s']:.1f} s (+{c['import_s']:.2f} s importing the engine)",
    )
    row(
        "first use in a later process: load the on-disk cache",
        "numba",
        f"{lo['startup_s']:.2f} s (+{lo['import_s']:.2f} s importing the engine)",
    )
    first = {
        name: k["numba_first_call_s"]
        for name, k in res_kernel.items()
        if isinstance(k, dict) and "numba_first_call_s" in k
    }
    if first:
        row(
            "first call in the suite's own process, per scenario (cache filled above)",
            "numba",
            ", ".join(f"{name} {t:.2f} s" for name, t in first.items()),
        )
    if st.get("recompiled_during_run"):
        row(
            "cache unchanged during the run", "numba", "NO: numba compiled again mid-run", "", False
        )


def _variant_label(key: str, c: dict[str, Any]) -> str:
    if key == "vector":
        return "vector"
    return (
        "numba, 1 thread" if key == "numba_1thread" else f"numba, {c.get('threads', '?')} threads"
    )


def _kernel_rows(name: str, s: dict[str, Any], row: Any) -> None:
    for r in s["ladder"]:
        for eng, why in r.get("skipped", {}).items():
            row(f"kernel {name}, {r['replicates']:.0e} replicates", eng, f"skipped: {why}")
        for eng, st in r.get("engines", {}).items():
            extra = ""
            if eng == "numba" and "speedup_numba_over_vector" in r:
                extra = f"; {r['speedup_numba_over_vector']:.2f}x the core, alternating repeats"
            row(
                f"kernel {name}, {r['replicates']:.0e} replicates (chunk {st.get('chunk', s['chunk'])})",
                eng,
                f"{st['nrp_per_s']:.3g} nrp/s ({st['nrp_per_s_chunk_median']:.3g} by the median "
                f"chunk), {st['us_per_replicate']:.0f} us/replicate "
                f"(+{st['sample_us_per_replicate']:.0f} us sampling){extra}",
            )
    sim = s.get("simulate_1000") or {}
    for eng in ("vector", "numba"):
        x = sim.get(eng)
        if x:
            extra = ""
            if eng == "numba" and "speedup_numba_over_vector" in sim:
                extra = f"; {sim['speedup_numba_over_vector']:.2f}x the core"
            row(
                f"simulate() {name}, 1,000 replicates, record='none'",
                eng,
                f"{x['simulate_us_per_replicate']:.0f} us/replicate = "
                f"{x['ratio_simulate_to_kernel']:.2f}x sampling + kernel "
                f"({x['kernel_and_sampling_us_per_replicate']:.0f} us){extra}",
            )
    for key in ("ceiling", "ceiling_chunk_1024"):
        c = s.get(key)
        if not c:
            continue
        for var in ("vector", "numba", "numba_1thread"):
            v = c.get(var)
            if not v:
                continue
            oe = v["op_equivalents_per_node_rep_period"]
            # The op runs on one core: the target applies to one-core figures only.
            targeted = name == TARGET_SCENARIO and var != "numba"
            note = "; wall time over several threads" if var == "numba" else ""
            row(
                f"op-equivalents per nrp, {name}, chunk {c['chunk']}",
                _variant_label(var, v),
                f"{oe:.0f} ({v['ns_per_node_rep_period']:.0f} ns/nrp; one op "
                f"{v['op_ns_per_element_holdings']:.2f} ns/element; a period = "
                f"{v['period_in_ops_on_holdings']:.0f} ops on (chunk x holdings); "
                f"{_cold(v)}median of {c['rounds']} paired rounds{note})",
                f"<= {TARGET_OP_EQ:.0f}" if targeted else "",
                oe <= TARGET_OP_EQ if targeted else None,
            )


def _cold(v: dict[str, Any]) -> str:
    """The op-equivalents against the op on arrays fetched from outside the core's cache."""
    if "op_equivalents_cold" not in v:  # results of an older suite
        return ""
    return (
        f"{v['op_equivalents_cold']:.0f} against the op on arrays fetched from beyond L2 "
        f"({v['op_cold_ns_per_element_holdings']:.2f} ns/element); "
    )


def _des_rows(d: dict[str, Any], row: Any) -> None:
    if "skipped" in d:
        row("per replicate vs engine='des'", "", f"skipped: {d['skipped']}")
        return
    for name, s in d.items():
        if "error" in s:
            row(f"per replicate vs engine='des', {name}", "", f"des failed: {s['error'][:120]}")
            continue
        for eng, ratio in s["ratio"].items():
            ag = s["agreement"].get(eng, {})
            agree = (
                f"; unmet_t within {ag['relative']:.1e} of des"
                if "relative" in ag
                else f"; agreement check failed: {ag.get('error', '')[:60]}"
            )
            targeted = name == TARGET_SCENARIO
            row(
                f"per replicate vs engine='des', {name}",
                eng,
                f"{ratio:.0f}x (des {s['per_replicate_s']['des'] * 1e3:.1f} ms, {eng} "
                f"{s['per_replicate_s'][eng] * 1e6:.0f} us){agree}",
                f">= {TARGET_DES_RATIO:,.0f}x" if targeted else "",
                ratio >= TARGET_DES_RATIO if targeted else None,
            )


def _peer_rows(p: dict[str, Any], row: Any) -> None:
    for c in p.get("checks", {}).values():
        row(
            f"closed form, chain, {c['tool']}",
            c.get("engine", ""),
            f"{c['short_days']} short days, {c['unmet_units']:.0f} unmet "
            f"(days {c['first_short_day']}-{c['last_short_day']})",
            "30 days, 300 units (+-1 day)",
            c["ok"],
        )
    if "skipped" in p:
        row("reesim vs SupplyNetPy per replicate", "", f"skipped: {p['skipped']}")
    if "supplynetpy" not in p:
        return
    snp_ms = p["supplynetpy"]["per_replicate_s"] * 1e3
    for eng in ("vector", "numba"):
        x = p.get(eng)
        if not x:
            continue
        ratio = x["ratio"]
        if eng == "numba":
            target = f">= {TARGET_PEER_RATIO:,.0f}x; {TARGET_PEER_RATIO_COMPILED:,.0f}x compiled"
            met = (
                f"{_yes(ratio >= TARGET_PEER_RATIO)}; "
                f"{_yes(ratio >= TARGET_PEER_RATIO_COMPILED)} ({TARGET_PEER_RATIO_COMPILED:,.0f}x)"
            )
        else:
            target, met = f">= {TARGET_PEER_RATIO:,.0f}x", _yes(ratio >= TARGET_PEER_RATIO)
        note = (
            f"; best chunk {x['best_chunk']}: {x['best_per_replicate_s'] * 1e6:.0f} us, "
            f"{x['ratio_best_chunk']:.0f}x"
            if x["best_chunk"] != "default"
            else "; the default chunk was the fastest tried"
        )
        row(
            f"reesim vs SupplyNetPy per replicate, chain, default chunk ({x['default_chunk']})",
            eng,
            f"{ratio:.0f}x (SupplyNetPy {snp_ms:.1f} ms, reesim "
            f"{x['per_replicate_s'] * 1e6:.0f} us, simulate() end to end){note}",
            target,
            met,
        )
    y = p.get("numba_every_period_computed")
    if y:
        row(
            "the same, every period computed",
            "numba",
            f"{y['ratio']:.0f}x (reesim {y['per_replicate_s'] * 1e6:.1f} us; by default "
            f"{y['copied_share']:.0%} of the chain's periods repeat the last one and are "
            "copied, docs/compiled.md)",
        )


def _scaling_rows(sc: dict[str, Any], row: Any) -> None:
    for key, s in sc.items():
        costs = ", ".join(f"{c:.0f}" for c in s["ns_per_node_rep_period"])
        mem = ", ".join(f"{m:.0f}" for m in s["rss_run_mb"])
        xs = ", ".join(str(x) for x in s["x"])
        row(
            f"scaling {key}: x = {xs}",
            "vector",
            f"ns/nrp {costs} (max/min {s['cost_spread']:.2f}); run memory MiB {mem}; "
            f"r2 of time vs x {s['fit'].get('r2', float('nan')):.3f}",
        )


def _e2e_rows(e: dict[str, Any] | None, row: Any) -> None:
    if not e:
        return
    for eng, run in e["reesim_run_default_1000"].items():
        note = ", numba's import and on-disk cache load included" if eng == "numba" else ""
        row(
            "`reesim run` default, 1,000 replicates (wall, import included)",
            eng,
            f"{run['median_s']:.2f} s (rc {run['returncode']}{note}; first, untimed run "
            f"{run['first_s']:.2f} s)",
            f"< {TARGET_RUN_S:.0f} s",
            run["median_s"] < TARGET_RUN_S and run["returncode"] == 0,
        )
    row(
        "`python -c 'import reesim'`",
        "",
        f"{e['import_reesim']['median_s']:.2f} s "
        f"(bare python {e['python_bare']['median_s']:.2f} s)",
    )
    top = ", ".join(f"{x['module']} {x['ms']:.0f}" for x in e["importtime_top_ms"][:5])
    row("slowest imports under `import reesim` (cumulative ms)", "", top)
    heavy = e["heavy_modules_after_import"]
    loaded = [mod for mod, on in heavy.items() if on is True]
    bad = [mod for mod in loaded if mod in ("pandas", "scipy", "matplotlib", "dask")]
    row(
        "heavy modules loaded by `import reesim`",
        "",
        ", ".join(loaded) or "none",
        "no pandas, scipy, matplotlib, dask",
        not bad,
    )
