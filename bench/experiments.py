"""Is the experiment statistics honest? Hundreds of simulated A/B tests, end to end through
the real services (recommender.experiments.simulation), on PostgreSQL with the Redis
impression buffer.

1. A pilot A/A test computes the sample size the primary metric (CTR, 30% per list, three
   lists a visitor) needs for a 10% relative lift at power 0.8, alpha 0.05 (the same power
   analysis the results page shows).
2. RUNS A/A tests of that size: the share found significant at alpha 0.05 should be 2-8%.
3. RUNS tests of that size with a planted +10% CTR: the share found should be at least 80%.

    python bench/experiments.py [--runs 200]

Prints the shares with their 95% (Wilson) intervals and writes bench/results/experiments.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shopsmart_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
os.environ.setdefault("CACHE_KEY_PREFIX", "bench-experiments")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

from recommender.experiments.simulation import (  # noqa: E402
    Simulation,
    experiment_simulate,
    simulations_forget,
)

PILOT_VISITORS = 4_000
LIFT = 0.1


def share(found: int, runs: int) -> str:
    low, high = proportion_confint(found, runs, method="wilson")
    interval = f"95% interval {100 * low:.1f}-{100 * high:.1f}%"
    return f"{found}/{runs} = {100 * found / runs:.1f}% ({interval})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="Experiments of each kind.")
    args = parser.parse_args()
    call_command("migrate", "--no-input", verbosity=0)
    simulations_forget()  # what an interrupted run of this bench left
    started = time.perf_counter()
    pilot = experiment_simulate(Simulation(visitors=PILOT_VISITORS, seed=10_000_000))
    per_variant = max(n for n in pilot.results.sample_size_per_variant.values() if n)
    visitors = 2 * per_variant
    print(f"Sample size for +{100 * LIFT:.0f}% CTR (power 0.8, alpha 0.05): {per_variant} "
          f"visitors a variant; {visitors} per experiment")  # fmt: skip
    outcomes: dict[str, list[bool]] = {"aa": [], "planted": []}
    for run in range(args.runs):
        for kind, lift in (("aa", 0.0), ("planted", LIFT)):
            seed = 2 * run + (kind == "planted")
            outcome = experiment_simulate(Simulation(visitors=visitors, lift=lift, seed=seed))
            outcomes[kind].append(outcome.significant)
        if (run + 1) % 20 == 0:
            print(f"  {run + 1} of each: A/A significant {sum(outcomes['aa'])}, "
                  f"planted found {sum(outcomes['planted'])}", flush=True)  # fmt: skip
    aa, planted = sum(outcomes["aa"]), sum(outcomes["planted"])
    print(f"A/A tests significant at 0.05: {share(aa, args.runs)} (target 2-8%)")
    print(f"Planted +10% CTR detected:     {share(planted, args.runs)} (target >= 80%)")
    print(f"{time.perf_counter() - started:.0f} s")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "experiments.json").write_text(json.dumps({
        "runs": args.runs, "visitors_per_experiment": visitors, "aa_significant": aa,
        "planted_detected": planted, "lift": LIFT,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
