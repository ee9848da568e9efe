"""One learned-ranking pipeline run on the retail bench store, timed with its progress reports.

Run by bench/ranking.py with the checkout to measure as the working directory (so a previous
revision's code runs the same probe). Prints one JSON line: the run's seconds and phases, and
every progress report (seconds since the start, done, total, phase).
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")

import django

django.setup()

from recommender.pipelines import ranking_compute  # noqa: E402
from recommender.selectors import events_end  # noqa: E402

reports: list[tuple[float, int, int, str | None]] = []
started = time.perf_counter()


def progress(done: int, total: int, *, phase: str | None = None) -> None:
    reports.append((round(time.perf_counter() - started, 2), done, total, phase))


run = ranking_compute(now=events_end(), progress=progress)
print(
    json.dumps(
        {
            "seconds": round(time.perf_counter() - started, 1),
            "status": run.status,
            "statistics": run.statistics,
            "reports": reports,
        }
    )
)
