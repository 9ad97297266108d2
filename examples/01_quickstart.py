"""Quick start: run the built-in scenario and read its shortage metrics.

The built-in "default" scenario is a small EU/US magnet network hit by a
China export ban on magnets and NdPr oxide in 2026, of uncertain length.
This script loads it, runs Monte Carlo replicates, and shows the three
views reesim gives of a run:

1. ``summary()``: each metric across replicates (mean, P5, P50, P95, and the
   probability of any shortage), per demand sink;
2. ``metrics``: one row per (replicate, sink), to slice as you like;
3. ``to_xarray()``: the weekly demand/served/unmet series themselves.

Run it with ``python examples/01_quickstart.py``. Set
REESIM_EXAMPLE_REPLICATES to change the number of replicates.
"""

import os

import reesim

REPLICATES = int(os.environ.get("REESIM_EXAMPLE_REPLICATES", "2000"))

# A built-in name or a path to a TOML file; `reesim list` shows the built-ins.
scenario = reesim.load_scenario("default")
print(f"{scenario.name}: {scenario.description}")
print(
    f"{len(scenario.facilities)} facilities, {len(scenario.sinks)} sinks, "
    f"{len(scenario.routes)} routes, {len(scenario.events)} event(s)\n"
)

# The seed makes the run repeatable: the same seed gives the same numbers,
# however the replicates are chunked.
res = reesim.simulate(scenario, replicates=REPLICATES, seed=7)
print(res, "\n")

# 1. Summary across replicates. The index is (sink, metric).
summary = res.summary()
print("Probability that each sink runs short at least once after the ban starts:")
p_short = summary.xs("time_to_shortage_weeks", level="metric")["p_any"]
print((100 * p_short).round(1).astype(str).add(" %").to_string(), "\n")

print("Time to shortage, weeks (inf = never short within the horizon):")
print(summary.xs("time_to_shortage_weeks", level="metric")[["p5", "p50", "p95"]].round(1), "\n")

# 2. Per-replicate metrics: e.g. how long EU EV makers are short when the
#    ban lasts, and how that relates to unmet demand.
metrics = res.metrics
eu_ev = metrics.xs("eu_ev", level="sink")
short = eu_ev[eu_ev["any_shortage"]]
print(
    f"eu_ev is short in {len(short)} of {len(eu_ev)} replicates; in those, "
    f"median {short['shortage_duration_weeks'].median():.0f} weeks short and "
    f"{short['unmet_pct'].median():.1f}% of its demand unmet.\n"
)

# 3. The series: demand, served and unmet per (replicate, period, sink).
ds = res.to_xarray()
worst = int(eu_ev["unmet_t"].to_numpy().argmax())
weekly = ds["unmet"].sel(sink="eu_ev").isel(replicate=worst)
print(
    f"Worst replicate for eu_ev (#{worst}): ban starts "
    f"{str(ds['date'].values[int(ds['start_period'].values[worst])])[:10]}, "
    f"{float(weekly.sum()):,.0f} t unmet over {int((weekly > 0).sum())} weeks."
)

# Material is neither created nor lost: this raises if a ledger fails to close.
res.check_mass_balance()
print("Mass balance closes for every commodity and replicate.")
