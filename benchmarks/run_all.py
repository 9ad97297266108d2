"""Run the whole benchmark suite and write benchmarks/results/<date>.json and <date>.md.

Sections (see benchmarks/SUITE.md for what each measures and why):

1. ``kernel``  node-replicate-periods per second of each engine's period loop
   (the vectorised core, and the numba kernel when numba is installed) on
   the default scenario and world-2024, 10^3 to 10^6 replicates as far as a
   time budget allows, plus the NumPy ceiling measured in the same process
   (:mod:`kernel`);
2. ``des``     per-replicate time of ``engine="des"`` against each fast engine;
3. ``peer``    SupplyNetPy against reesim on the same chain, every tool and
   engine checked against the closed form first;
4. ``scaling`` time and peak memory of the core against replicates, periods
   and nodes (one fresh process per point, :mod:`scaling`);
5. ``e2e``     ``reesim run`` wall time per engine and ``import reesim`` time,
   and which heavy modules the import pulls in.

Before the sections, numba's on-disk cache is pointed at a fresh folder and
the compiled kernel's compile time and cache-load time are measured in two
fresh processes; every later use of the kernel loads that cache.

Every figure is a median over repeated runs; every ratio is between two
figures measured in this run, in rounds that alternate what is compared.

Usage::

    python benchmarks/run_all.py            # full suite, ~15 min on 2 cores
    python benchmarks/run_all.py --quick    # ~3-4 min
    python benchmarks/run_all.py --only kernel,peer
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import (  # noqa: E402  (after the path set-up above)
    default_threads,
    disable_numba,
    engines,
    free_stem,
    have_numba,
    log,
    med,
    numba_off_reason,
    ratio_of,
    write_atomic,
)
from report import markdown  # noqa: E402

SECTIONS = ("kernel", "des", "peer", "scaling", "e2e")
HEAVY = ("pandas", "scipy", "matplotlib", "dask", "xarray", "pyarrow", "simpy", "tqdm", "numba")


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

    out = {
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
    if importlib.util.find_spec("numba") is not None:
        import numba

        out["numba"] = numba.__version__
        out["numba_default_threads"] = default_threads()
        out["numba_cache_dir"] = numba.config.CACHE_DIR or "next to the source"
    return out


# ------------------------------------------------------------------------------ numba start-up
#: Run in a fresh process: numba's import, then the first ``simulate(engine="numba")``
#: (compiling, or loading the on-disk cache, of the kernel and of the compiled
#: metrics), then a second, identical call.
_STARTUP_PROBE = """
import json, time
import reesim
sc = reesim.load_scenario("default")
t0 = time.perf_counter()
import numba
from reesim.engine.compiled import run_numba
t1 = time.perf_counter()
reesim.simulate(sc, replicates=64, seed=1, record="none", engine="numba")
t2 = time.perf_counter()
reesim.simulate(sc, replicates=64, seed=1, record="none", engine="numba")
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1, "second_call_s": t3 - t2}))
"""


def _cache_fingerprint(folder: str) -> list[tuple[str, int]]:
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in Path(folder).rglob("*.nb*")
    )


def use_fresh_numba_cache() -> str:
    """Point numba's on-disk cache at a new, empty folder, for this process and its children.

    Must run before numba is imported (numba reads the setting then). Every
    use of the compiled kernel in the suite then shares one cache that
    :func:`prepare_numba` fills, so no timing but its first pays for
    compiling, whatever state the cache next to the source is in.
    """
    if "numba" in sys.modules:
        raise RuntimeError("numba was imported before its cache folder was set")
    cache = tempfile.mkdtemp(prefix="reesim-numba-cache-")
    os.environ["NUMBA_CACHE_DIR"] = cache
    return cache


def prepare_numba(cache: str) -> dict[str, Any]:
    """Time compiling the kernel into the empty ``cache``, then loading it, in fresh processes."""
    out: dict[str, Any] = {"cache_dir": cache}
    for what in ("compile", "cache_load"):
        t0 = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-c", _STARTUP_PROBE],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            disable_numba(f"the compiled kernel failed to start: {r.stderr.strip()[-400:]}")
            out["error"] = r.stderr[-2000:]
            log(f"  numba {what}: FAILED, numba left out of this run")
            return out
        d = json.loads(r.stdout.strip().splitlines()[-1])
        d["process_wall_s"] = wall
        # The first call's own run is about as long as the second call's.
        d["startup_s"] = d["first_call_s"] - d["second_call_s"]
        out[what] = d
        log(
            f"  numba {what}: {d['startup_s']:.2f} s in the first call "
            f"(+{d['import_s']:.2f} s import; process {wall:.1f} s)"
        )
    out["fingerprint"] = _cache_fingerprint(cache)
    return out


# ------------------------------------------------------------------------------ des
def des_section(quick: bool) -> dict[str, Any]:
    if importlib.util.find_spec("reesim.engine.des") is None:
        return {"skipped": "reesim.engine.des is not there yet (engine='des' not available)"}
    import reesim

    out: dict[str, Any] = {}
    budget = 20.0 if quick else 90.0
    rounds = 3 if quick else 5
    fast_n = 1000
    for name in ("world-2024", "default"):
        sc = reesim.load_scenario(name)
        try:
            t0 = time.perf_counter()
            reesim.simulate(sc, replicates=1, seed=1, engine="des", record="none")
            probe = time.perf_counter() - t0
        except Exception as exc:  # a reference engine still being written may fail
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        for e in engines():  # untimed: imports and numba's first call stay out of round 1
            reesim.simulate(sc, replicates=64, seed=2, engine=e, record="none")
        reps = int(max(1, min(20, (budget / 2) / (rounds * probe))))
        times: dict[str, list[float]] = {"des": [], **{e: [] for e in engines()}}
        for _ in range(rounds):  # interleaved, so every engine sees the same machine
            t0 = time.perf_counter()
            reesim.simulate(sc, replicates=reps, seed=1, engine="des", record="none")
            times["des"].append((time.perf_counter() - t0) / reps)
            for e in engines():
                t0 = time.perf_counter()
                reesim.simulate(sc, replicates=fast_n, seed=1, engine=e, record="none")
                times[e].append((time.perf_counter() - t0) / fast_n)
        ratio = {e: ratio_of(times["des"], times[e]) for e in engines()}
        out[name] = {
            "des_replicates": reps,
            "fast_replicates": fast_n,
            "rounds": rounds,
            "per_replicate_s": {k: med(v) for k, v in times.items()},
            "per_replicate_all_s": times,
            "ratio": ratio,
            "agreement": {e: _engines_agree(sc, min(reps, 8), e) for e in engines()},
        }
        log(
            f"  des {name}: des {med(times['des']) * 1e3:.1f} ms/rep; "
            + ", ".join(
                f"{e} {med(times[e]) * 1e6:.0f} us/rep ({ratio[e]:.0f}x)" for e in engines()
            )
        )
    return out


def _engines_agree(sc: Any, reps: int, engine: str) -> dict[str, Any]:
    """Largest difference in unmet tonnes per (replicate, sink) between ``engine`` and des."""
    import reesim

    try:
        a = reesim.simulate(sc, replicates=reps, seed=3, engine=engine, record="none").metrics
        b = reesim.simulate(sc, replicates=reps, seed=3, engine="des", record="none").metrics
        diff = float(np.max(np.abs(a["unmet_t"].to_numpy() - b["unmet_t"].to_numpy())))
        scale = float(max(1.0, np.max(np.abs(a["unmet_t"].to_numpy()))))
        return {"replicates": reps, "max_abs_diff_unmet_t": diff, "relative": diff / scale}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------------------ peer
def peer_section(quick: bool) -> dict[str, Any]:
    from peers import reesim_chain, supplynetpy_chain

    out: dict[str, Any] = {"checks": {}}
    for e in engines():
        mine = reesim_chain.check(engine=e)
        out["checks"][f"reesim_{e}"] = mine
        log(f"  peer check reesim {e}: {mine}")
    if importlib.util.find_spec("SupplyNetPy") is None:
        out["skipped"] = "SupplyNetPy is not installed (pip install -e '.[bench]')"
        return out
    out["supplynetpy_version"] = supplynetpy_chain.version()
    theirs = supplynetpy_chain.check()
    out["checks"]["supplynetpy"] = theirs
    log(f"  peer check SupplyNetPy: {theirs}")
    if not all(c["ok"] for c in out["checks"].values()):
        out["skipped"] = "a tool missed the closed form; not timed"
        return out
    rounds, snp_n = (3, 3) if quick else (5, 5)
    # Enough replicates that the largest chunk tried is one full chunk.
    chunks: tuple[int | None, ...] = (None, 4096) if quick else (None, 4096, 16384)
    ree_n = 4096 if quick else 16384
    for e in engines():  # untimed: imports and numba's first call stay out of round 1
        reesim_chain.time_per_replicate(256, 1, engine=e)
    snp: list[float] = []
    ree: dict[str, dict[str, list[float]]] = {e: {} for e in engines()}
    picked: dict[str, int] = {}
    computed: list[float] = []  # numba with every period computed (no copies)
    for _ in range(rounds):  # interleaved, so every tool and setting sees the same machine
        snp.append(supplynetpy_chain.time_per_replicate(snp_n)["per_replicate_s"])
        for e in engines():
            for c in chunks:
                r = reesim_chain.time_per_replicate(ree_n, 1, engine=e, chunk_size=c, warm=False)
                key = "default" if c is None else str(c)
                if c is None:
                    picked[e] = r["chunk_size"]
                ree[e].setdefault(key, []).append(r["per_replicate_s"])
        if "numba" in engines():
            with reesim_chain.every_period_computed():
                r = reesim_chain.time_per_replicate(ree_n, 1, engine="numba", warm=False)
            computed.append(r["per_replicate_s"])
    out.update(
        rounds=rounds,
        supplynetpy={
            "replicates_per_round": snp_n,
            "per_replicate_s": med(snp),
            "per_round_s": snp,
        },
    )
    for e in engines():
        by_chunk = {k: med(v) for k, v in ree[e].items()}
        best = min(by_chunk, key=by_chunk.__getitem__)
        out[e] = {
            "replicates_per_round": ree_n,
            "default_chunk": picked[e],
            "per_replicate_s": by_chunk["default"],
            "ratio": ratio_of(snp, ree[e]["default"]),
            "per_replicate_s_by_chunk": by_chunk,
            "per_round_s_by_chunk": ree[e],
            "best_chunk": best,
            "best_per_replicate_s": by_chunk[best],
            "ratio_best_chunk": ratio_of(snp, ree[e][best]),
        }
        log(
            f"  peer {e}: SupplyNetPy {med(snp) * 1e3:.1f} ms/rep, reesim "
            f"{by_chunk['default'] * 1e6:.0f} us/rep at chunk {picked[e]} "
            f"({out[e]['ratio']:.0f}x); best chunk {best}: "
            f"{by_chunk[best] * 1e6:.0f} us/rep ({out[e]['ratio_best_chunk']:.0f}x)"
        )
    if "numba" in engines():
        out["numba_every_period_computed"] = {
            "copied_share": reesim_chain.copied_share(),
            "per_replicate_s": med(computed),
            "per_round_s": computed,
            "ratio": ratio_of(snp, computed),
        }
        x = out["numba_every_period_computed"]
        log(
            f"  peer numba, every period computed: {x['per_replicate_s'] * 1e6:.1f} us/rep "
            f"({x['ratio']:.0f}x); with copies {x['copied_share']:.0%} of periods are copied"
        )
    if len(engines()) == 2:
        out["speedup_numba_over_vector"] = ratio_of(
            ree["vector"]["default"], ree["numba"]["default"]
        )
    return out


# ------------------------------------------------------------------------------ e2e
def _wall(cmd: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    return time.perf_counter() - t0, r.returncode


def _walls(cmds: dict[str, list[str]], repeats: int) -> dict[str, dict[str, Any]]:
    """Wall times of each command, in rounds that alternate them, after one untimed run each."""
    first = {k: _wall(c) for k, c in cmds.items()}
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    codes = {k: first[k][1] for k in cmds}
    for _ in range(repeats):
        for k, c in cmds.items():
            w, code = _wall(c)
            walls[k].append(w)
            codes[k] = codes[k] or code
    return {
        k: {
            "median_s": med(walls[k]),
            "walls_s": walls[k],
            "first_s": first[k][0],
            "returncode": codes[k],
        }
        for k in cmds
    }


def e2e_section(quick: bool) -> dict[str, Any]:
    py = sys.executable
    n = 3 if quick else 7
    imp = _walls(
        {"python_bare": [py, "-c", "pass"], "import_reesim": [py, "-c", "import reesim"]}, n
    )
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
    cmds = {
        e: [py, "-m", "reesim", "run", "--replicates", "1000", "--quiet", "--engine", e]
        for e in engines()
    }
    run = _walls(cmds, 3 if quick else 5)
    log(
        f"  e2e: import {imp['import_reesim']['median_s']:.2f} s "
        f"(bare python {imp['python_bare']['median_s']:.2f} s); reesim run "
        + ", ".join(
            f"{e} {run[e]['median_s']:.2f} s (rc {run[e]['returncode']})" for e in engines()
        )
    )
    return {
        **imp,
        "heavy_modules_after_import": heavy,
        "importtime_top_ms": [
            {"module": m, "ms": us / 1000, "depth": d} for us, m, d in cumulative[:12]
        ],
        "reesim_run_default_1000": run,
    }


# ------------------------------------------------------------------------------ main
def _use_snapshot() -> None:
    """Import reesim from a copy of src/ at git HEAD, here and in every subprocess.

    Edits in progress in the working tree then cannot change or break a run.
    """
    import io
    import tarfile

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
    ap.add_argument("--quick", action="store_true", help="small sizes, ~3-4 minutes")
    ap.add_argument("--only", help=f"comma-separated sections of {','.join(SECTIONS)}")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    ap.add_argument(
        "--snapshot",
        action="store_true",
        help="measure the committed src/ (git HEAD) instead of the working tree",
    )
    ap.add_argument(
        "--no-numba", action="store_true", help="leave the compiled kernel out even if installed"
    )
    ap.add_argument("--render", type=Path, help="only rewrite the .md of this results .json")
    args = ap.parse_args()
    if args.render:
        write_atomic(args.render.with_suffix(".md"), markdown(json.loads(args.render.read_text())))
        return
    only = args.only.split(",") if args.only else list(SECTIONS)
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        ap.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    warnings.simplefilter("ignore")
    if args.snapshot:
        _use_snapshot()
    if args.no_numba:
        disable_numba("left out with --no-numba")
    cache = use_fresh_numba_cache() if have_numba() and set(only) - {"scaling"} else None
    res: dict[str, Any] = {"quick": args.quick, "machine": machine(), "sections": only}
    res["machine"]["snapshot_of_head"] = bool(args.snapshot)
    if cache:
        log("numba start-up ...")
        res["numba_startup"] = prepare_numba(cache)
    res["engines"] = engines()
    res["numba_left_out"] = numba_off_reason()
    from kernel import kernel_section

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
    if cache and "fingerprint" in res["numba_startup"]:
        # A change means numba compiled again mid-run (the source changed, or a new
        # signature): some timing then includes a compile. --snapshot rules out the first.
        before = [tuple(x) for x in res["numba_startup"].pop("fingerprint")]
        res["numba_startup"]["recompiled_during_run"] = before != _cache_fingerprint(cache)
        shutil.rmtree(cache, ignore_errors=True)
    res["machine"]["loadavg_end"] = os.getloadavg()
    res["suite_wall_s"] = time.perf_counter() - _t_start
    args.out.mkdir(parents=True, exist_ok=True)
    stem = free_stem(args.out, dt.date.today().isoformat() + ("-quick" if args.quick else ""))
    write_atomic(args.out / f"{stem}.json", json.dumps(res, indent=1, default=str) + "\n")
    write_atomic(args.out / f"{stem}.md", markdown(res))
    print(markdown(res))
    log(f"wrote {args.out / stem}.json and .md")


_t_start = time.perf_counter()

if __name__ == "__main__":
    main()
