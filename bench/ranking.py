"""The learned ranking's nightly job on real data, against a previous revision in the same run.

On the retail bench store (bench/real_data.py's database, BENCH_RETAIL_DATABASE_URL; imported
there first if it is empty), runs `ranking_compute` as of the last event with this checkout's
code and with the code of `--against` (a git revision, checked out in a temporary worktree),
alternating, `--repeats` times each. Prints per checkout the median seconds, the phases, peak
memory and the longest time the progress bar stood still (and in which phase), then the
speed-up. Writes bench/results/ranking.json.

    python bench/ranking.py --against 4f20cea [--repeats 1]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_data import DEFAULT_URL as RETAIL_URL
from run import RESULTS, ROOT, ensure_database, manage

PROBE = Path(__file__).resolve().parent / "ranking_probe.py"


def probe(url: str, checkout: Path) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "shopsmart.settings.base"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, str(PROBE)], cwd=checkout, env=env, stdout=out, stderr=err, text=True
        )
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"the probe failed in {checkout}:\n{err.read()}")
        figures: dict[str, Any] = json.loads(out.read().strip().splitlines()[-1])
    figures["peak_rss_mib"] = round(usage.ru_maxrss / 1024)
    reports = figures["reports"]
    phase, stillest, longest = None, None, 0.0
    for (before, *_, named), (after, *_) in itertools.pairwise(reports):
        phase = named or phase
        if after - before > longest:
            longest, stillest = after - before, phase
    figures["longest_still_seconds"] = round(longest, 1)
    figures["longest_still_phase"] = stillest
    return figures


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = statistics.median(run["seconds"] for run in runs)
    phases = runs[0]["statistics"].get("seconds", {})
    return {
        "median_seconds": seconds,
        "seconds": [run["seconds"] for run in runs],
        "phases_first_run": phases,
        "peak_rss_mib": max(run["peak_rss_mib"] for run in runs),
        "longest_still_seconds": max(run["longest_still_seconds"] for run in runs),
        "longest_still_phase": runs[0]["longest_still_phase"],
        "progress_reports": len(runs[0]["reports"]),
        "training_rows": runs[0]["statistics"].get("training_rows"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the git revision to compare with")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    url = os.environ.get("BENCH_RETAIL_DATABASE_URL", RETAIL_URL)
    ensure_database(url)
    manage(url, "migrate", "--no-input", "--verbosity", "0")
    probe_events = "from tracking.models import Event; print('EVENTS', Event.objects.exists())"
    if "EVENTS True" not in manage(url, "shell", "-c", probe_events).stdout:
        subprocess.run([sys.executable, str(ROOT / "bench" / "real_data.py")], check=True)  # noqa: S603
    runs: dict[str, list[dict[str, Any]]] = {"this checkout": [], args.against: []}
    with tempfile.TemporaryDirectory() as directory:
        previous = Path(directory) / "previous"
        subprocess.run(  # noqa: S603
            ["git", "worktree", "add", "--detach", str(previous), args.against],  # noqa: S607
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        try:
            for _ in range(args.repeats):
                runs[args.against].append(probe(url, previous))
                runs["this checkout"].append(probe(url, ROOT))
        finally:
            subprocess.run(  # noqa: S603
                ["git", "worktree", "remove", "--force", str(previous)],  # noqa: S607
                cwd=ROOT, check=True,
            )  # fmt: skip
    figures = {label: summary(measured) for label, measured in runs.items()}
    print(f"{'code':<16}{'median s':>10}{'peak MiB':>10}{'bar still s':>13}  still in / phases")
    for label, row in figures.items():
        print(
            f"{label:<16}{row['median_seconds']:>10.1f}{row['peak_rss_mib']:>10}"
            f"{row['longest_still_seconds']:>13.1f}  {row['longest_still_phase']}"
            f" / {row['phases_first_run']}"
        )
    before = figures[args.against]["median_seconds"]
    after = figures["this checkout"]["median_seconds"]
    print(f"speed-up: {before / after:.2f}x ({before:.0f} s -> {after:.0f} s, medians)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ranking.json").write_text(
        json.dumps({"against": args.against, "figures": figures}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
