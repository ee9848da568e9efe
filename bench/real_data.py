"""The recommender on real data: UCI Online Retail (../shared/data/online-retail/).

Imports the shared file into its own database (BENCH_RETAIL_DATABASE_URL, default
`shopsmart_bench_retail`; kept between runs, imported afresh with --reimport, which also times
a second, idempotent import), computes the content neighbours, then runs
bench/real_data_evaluate.py: parameters chosen on August 2011 (train before it), figures on
September 2011 (train before it), visitors with purchases on both sides, served recommender
beside popularity, the dense item-to-item method (bench/seed_method.py), EASE and implicit ALS.
Prints a table and writes bench/results/real_data.json.

    python bench/real_data.py [--reimport]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import RESULTS, ROOT, ensure_database, manage, run_script

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/shopsmart_bench_retail"
DATA = ROOT.parent / "shared" / "data" / "online-retail" / "online-retail-2010-12-to-2011-09.csv.gz"


def timed_import(url: str) -> dict[str, object]:
    started = time.perf_counter()
    finished = manage(url, "import_online_retail", str(DATA), "--verbosity", "0")
    seconds = round(time.perf_counter() - started, 1)
    report = json.loads(finished.stdout[finished.stdout.index("{") :])
    return {
        "seconds": seconds,
        "peak_rss_mib": finished.peak_rss_mib,
        "rows_read": report["rows_read"],
        "created": report["created"],
        "already_imported": report["already_imported"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reimport", action="store_true", help="drop the data and import again")
    parser.add_argument("--live", action="store_true",
                        help="the live protocol (bench/real_data_live.py) instead")  # fmt: skip
    args = parser.parse_args()
    url = os.environ.get("BENCH_RETAIL_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    manage(url, "migrate", "--no-input", "--verbosity", "0")
    imports = []
    probe = "from tracking.models import Event; print('EVENTS', Event.objects.exists())"
    has_events = "EVENTS True" in manage(url, "shell", "-c", probe).stdout
    if args.reimport or not has_events:
        manage(url, "flush", "--no-input", "--verbosity", "0")
        imports = [timed_import(url), timed_import(url)]
        for label, figures in zip(("first import", "same file again"), imports, strict=True):
            print(
                f"{label:<16} {figures['seconds']:>6} s  peak {figures['peak_rss_mib']} MiB  "
                f"created {figures['created']}  already imported {figures['already_imported']}"
            )
        manage(url, "compute_content_similarity", "--verbosity", "0")
    started = time.perf_counter()
    script = "bench/real_data_live.py" if args.live else "bench/real_data_evaluate.py"
    finished = run_script(url, script)
    print(finished.stdout, end="")
    line = re.search(r"^JSON (.*)$", finished.stdout, re.MULTILINE)
    if line is None:
        raise RuntimeError("bench/real_data_evaluate.py printed no JSON line")
    figures = json.loads(line.group(1))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("real_data_live.json" if args.live else "real_data.json")
    path.write_text(
        json.dumps(
            {
                "imports": imports,
                "evaluation_seconds": round(time.perf_counter() - started, 1),
                "peak_rss_mib": finished.peak_rss_mib,
                **figures,
            },
            indent=2,
        )
    )
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
