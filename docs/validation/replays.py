"""Regenerate the replay predictions of docs/validation.md: figures and tables.

Run from the repository root::

    python docs/validation/replays.py            # 1,000 replicates, figures in docs/validation/
    python docs/validation/replays.py --replicates 50 --out /tmp/replays

For each historical replay it simulates the scenario file and reports, as P5/P50/P95
over replicates:

* the monthly flow of the controlled goods from China to each affected destination,
  counted when it leaves China (the exporter's customs) and when it lands (the
  importer's customs), relative to the average of the six months before the measure;
* the time from the measure to the first short week, and to recovery, for the users
  of each region (a region is short when its users together get < 99% of demand).

The engine records a shipment when it is dispatched; a licensed shipment then waits
for its licence in China. The exporter's count is therefore taken as the arrival
less the route's transit time, which both engines draw from the same seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import reesim
from reesim.sampling import draw_samples

ROOT = Path(__file__).resolve().parents[2]
SEED = 2010


@dataclass(frozen=True)
class Replay:
    """One replay: its file, controlled goods and the destinations to follow."""

    name: str
    title: str
    goods: tuple[str, ...]
    destinations: dict[str, tuple[str, ...]]
    event: dt.date
    shade: tuple[tuple[dt.date, dt.date, str], ...]


#: Where the 2025 measures bite: users and magnet makers, grouped as customs would.
DESTINATIONS_2025 = {"JP": ("JP",), "EU": ("EU", "DE", "EE", "FR"), "US": ("US",),
                     "KR": ("KR",)}

REPLAYS = (
    Replay(
        "replay-2010-japan", "2010: halt to Japan and the H2 2010 quota",
        ("ndpr_oxide", "dytb_oxide", "ndpr_metal", "dytb_metal"),
        {"JP": ("JP",), "elsewhere": ("EU", "DE", "EE", "FR", "US", "KR", "VN", "IN", "ROW")},
        dt.date(2010, 9, 21),
        ((dt.date(2010, 7, 1), dt.date(2011, 1, 1), "H2 2010 quota"),
         (dt.date(2010, 9, 21), dt.date(2010, 11, 20), "halt to Japan")),
    ),
    Replay(
        "replay-2025-licensing", "April 2025: licensing of Dy/Tb and magnets",
        ("dytb_oxide", "dytb_metal", "magnet"), DESTINATIONS_2025,
        dt.date(2025, 4, 4),
        ((dt.date(2025, 4, 4), dt.date(2027, 1, 1), "licensing"),),
    ),
    Replay(
        "replay-2025-licensing-october", "April 2025 + October 2025 (suspended Nov 2025)",
        ("dytb_oxide", "dytb_metal", "magnet"), DESTINATIONS_2025,
        dt.date(2025, 4, 4),
        ((dt.date(2025, 4, 4), dt.date(2027, 7, 1), "licensing"),
         (dt.date(2025, 10, 9), dt.date(2025, 11, 7), "October rule")),
    ),
)


def monthly_flows(res: reesim.Results, replay: Replay) -> dict[str, dict[str, pd.DataFrame]]:
    """Monthly flows China -> each destination, per replicate, as a ratio to the
    six months before the measure: {destination: {"departure"|"arrival": frame}}.

    Frames are [month x replicate]. A month's flow is its mean weekly flow, so that
    months of four and five weeks compare.
    """
    sc = res.scenario
    plan = res.plan
    region = {f.id: f.region for f in sc.facilities} | {s.id: s.region for s in sc.sinks}
    ds = res.to_xarray()
    arrivals = ds["arrivals"].values                       # [R, N, E]
    lead = draw_samples(plan, res.seed, np.arange(res.replicates)).route_lead  # [R, E]
    n = arrivals.shape[1]
    dates = pd.DatetimeIndex(ds["date"].values)
    months = dates.to_period("M")
    pre = (dates >= pd.Timestamp(replay.event) - pd.DateOffset(months=6)) & (
        dates < pd.Timestamp(replay.event))
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for dest, members in replay.destinations.items():
        idx = [e for e, r in enumerate(sc.routes)
               if region[r.supplier] == "CN" and region[r.buyer] in members
               and r.commodity in replay.goods]
        arr = arrivals[:, :, idx]                          # [R, N, e]
        # Exporter's count: what arrives in period k left China L periods earlier.
        dep = np.zeros_like(arr)
        for j, e in enumerate(idx):
            for r in range(arr.shape[0]):
                shift = int(lead[r, e])
                dep[r, : n - shift, j] = arr[r, shift:, j]
        frames = {}
        for label, series in (("departure", dep.sum(axis=2)), ("arrival", arr.sum(axis=2))):
            base = series[:, pre].mean(axis=1)
            ratio = series / np.where(base > 0, base, np.nan)[:, None]
            frame = pd.DataFrame(ratio.T, index=months).groupby(level=0).mean()
            # The last weeks lack the departures whose arrival falls after the horizon.
            frames[label] = frame.iloc[:-2] if label == "departure" else frame
        out[dest] = frames
    return out


def bands(frame: pd.DataFrame) -> pd.DataFrame:
    """P5, P50, P95 across replicates, per month."""
    q = frame.quantile([0.05, 0.5, 0.95], axis=1).T
    q.columns = ["p5", "p50", "p95"]
    return q


def region_times(res: reesim.Results, regions: tuple[str, ...]) -> pd.DataFrame:
    """P(short), P5/P50/P95 of the weeks to the first short week and to recovery."""
    summ = res.summary(by="region")
    rows = []
    for reg in regions:
        tts = summ.loc[(reg, "time_to_shortage_weeks")]
        ttr = summ.loc[(reg, "time_to_recover_weeks")]
        unmet = summ.loc[(reg, "unmet_pct")]
        rows.append({
            "region": reg, "P(short)": tts["p_any"],
            "to shortage P5": tts["p5"], "P50": tts["p50"], "P95": tts["p95"],
            "to recovery P5": ttr["p5"], "P50 ": ttr["p50"], "P95 ": ttr["p95"],
            "unmet % P50": unmet["p50"], "unmet % P95": unmet["p95"],
        })
    return pd.DataFrame(rows).set_index("region")


def fmt(x: float) -> str:
    if isinstance(x, float) and np.isinf(x):
        return "none"
    return f"{x:.2f}" if isinstance(x, float) and x < 1.0 and x != 0 else f"{x:.0f}"


def markdown(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join([df.index.name or "", *cols]) + " |",
             "|" + "---|" * (len(cols) + 1)]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([str(idx), *[fmt(v) for v in row.values]]) + " |")
    return "\n".join(lines)


def plot(replay: Replay, flows: dict[str, dict[str, pd.DataFrame]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dests = list(flows)
    peak = max(float(bands(flows[d][k])["p95"].max()) for d in dests for k in flows[d])
    top = min(3.0, max(2.0, np.ceil(peak * 4) / 4))
    fig, axes = plt.subplots(len(dests), 1, figsize=(8, 2.2 * len(dests)), sharex=True)
    for ax, dest in zip(np.atleast_1d(axes), dests, strict=True):
        for label, colour in (("departure", "tab:red"), ("arrival", "tab:blue")):
            q = bands(flows[dest][label])
            x = q.index.to_timestamp()
            ax.fill_between(x, q["p5"], q["p95"], color=colour, alpha=0.2, lw=0)
            ax.plot(x, q["p50"], color=colour, lw=1.5,
                    label=f"{label} (P50, P5-P95)" if dest == dests[0] else None)
        for i, (start, end, text) in enumerate(replay.shade):
            ax.axvspan(pd.Timestamp(start), pd.Timestamp(end), color="grey", alpha=0.12)
            if dest == dests[0]:
                ax.text(pd.Timestamp(start), top * (0.95 - 0.12 * i), " " + text, fontsize=7,
                        va="top")
        ax.axhline(1.0, color="black", lw=0.5)
        ax.set_ylim(0, top)
        ax.set_ylabel(f"China -> {dest}")
    np.atleast_1d(axes)[0].legend(loc="lower left", fontsize=8)
    np.atleast_1d(axes)[0].set_title(
        f"{replay.title}: monthly flow of controlled goods / pre-measure average", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "validation")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for replay in REPLAYS:
        sc = reesim.load_scenario(ROOT / "scenarios" / f"{replay.name}.toml")
        res = reesim.simulate(sc, replicates=args.replicates, seed=SEED,
                              record=["sinks", "flows"])
        flows = monthly_flows(res, replay)
        plot(replay, flows, args.out / f"{replay.name}.png")
        print(f"\n### {replay.name} ({args.replicates} replicates, seed {SEED})\n")
        print("Flows of controlled goods, monthly / pre-measure average (P50 [P5-P95]):\n")
        months = pd.period_range(pd.Timestamp(replay.event).to_period("M") - 1, periods=10,
                                 freq="M")
        rows = []
        for dest in replay.destinations:
            for label in ("departure", "arrival"):
                q = bands(flows[dest][label]).reindex(months)
                rows.append([f"{dest} {label}"] + [
                    f"{r.p50:.2f} [{r.p5:.2f}-{r.p95:.2f}]" for r in q.itertuples()])
        table = pd.DataFrame(rows, columns=["flow", *[str(m) for m in months]]).set_index("flow")
        print("| flow | " + " | ".join(table.columns) + " |")
        print("|" + "---|" * (len(table.columns) + 1))
        for idx, row in table.iterrows():
            print(f"| {idx} | " + " | ".join(row.values) + " |")
        print("\nWeeks from the measure to the first short week and to recovery, by region:\n")
        print(markdown(region_times(res, ("JP", "EU", "US", "KR"))))


if __name__ == "__main__":
    main()
