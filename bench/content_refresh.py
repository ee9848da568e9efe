"""What refreshing one product's content neighbours costs, next to the full content run it
replaces until the night, and how close its lists are to what the full run then computes.

On the bench store of each size (bench/run.py's sizes; a PostgreSQL database, flushed): the
full content pipeline, then a new product described like an existing one is refreshed
(recommender.pipelines.content_refresh, what a seller's listing triggers), then the full run
again. Its figures: seconds of each, their ratio, and for every list the refresh changed, the
share of the full run's top 20 that the refreshed list holds (1.0: identical sets).

    python bench/content_refresh.py            # 1,000 and 10,000 products
    python bench/content_refresh.py --large    # also 100,000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import DEFAULT_URL, SIZES, ensure_database, manage, run_script

PROBE = Path(__file__).resolve().parent / "content_refresh_probe.py"
REPEATS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also 100x")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    manage(url, "migrate", "--no-input", "-v0")
    sizes = ["default", "10x", "large"] if args.large else ["default", "10x"]
    print(f"{'size':<9}{'full s':>9}{'refresh s':>11}{'ratio':>8}{'lists':>7}"
          f"{'agreement':>11}{'own list':>10}")  # fmt: skip
    for size in sizes:
        manage(url, "seed_demo", "--flush", "--seed", "42", "--verbosity", "0", *SIZES[size])
        runs = [json.loads(run_script(url, str(PROBE)).stdout) for _ in range(REPEATS)]
        full = statistics.median(r["full_seconds"] for r in runs)
        refresh = statistics.median(r["refresh_seconds"] for r in runs)
        agreement = statistics.median(r["agreement"] for r in runs)
        own = statistics.median(r["own_agreement"] for r in runs)
        lists = statistics.median(r["lists_changed"] for r in runs)
        print(f"{size:<9}{full:>9.2f}{refresh:>11.3f}{full / refresh:>7.0f}x{lists:>7.0f}"
              f"{agreement:>11.3f}{own:>10.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
