"""The zero-configuration store keeps itself fresh: `make run` starts celery beat next to the
web server, and with no broker beat runs the declared jobs itself when they are due."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from shopsmart.tests.processes import ROOT, process_group_kill

# Migrating a fresh SQLite file and starting beat take a few seconds each on a busy host.
WAIT_SECONDS = 120


def zero_config_environment(database: Path) -> dict[str, str]:
    """A newcomer's environment: no PostgreSQL, Redis or broker; a store in one SQLite file."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"}
    }
    return kept | {
        "DJANGO_SETTINGS_MODULE": "shopsmart.settings.base",
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "WARNING",
    }


def manage(environment: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=True,
    )
    return done.stdout


SHELL_DUE = """
from datetime import timedelta
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
# Last run two hours ago: the hourly trending job is overdue, as after a night switched off.
PeriodicTask.objects.filter(task="recommender.compute_trending").update(
    last_run_at=timezone.now() - timedelta(hours=2)
)
"""

SHELL_RUNS = """
from recommender.models import PipelineKind, PipelineRun
print(PipelineRun.objects.filter(kind=PipelineKind.TRENDING, status="succeeded").count())
"""


def test_with_no_configuration_beat_runs_a_due_job_itself(tmp_path):
    environment = zero_config_environment(tmp_path / "shop.sqlite3")
    manage(environment, "migrate", "--no-input", "--verbosity", "0")
    manage(environment, "install_schedule")
    manage(environment, "shell", "-c", SHELL_DUE)
    assert manage(environment, "shell", "--verbosity", "0", "-c", SHELL_RUNS).strip() == "0"
    # What `make run` starts next to the web server.
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "shopsmart", "beat", "--loglevel=INFO"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        runs = "0"
        while runs == "0" and time.monotonic() < deadline and beat.poll() is None:
            time.sleep(2)
            runs = manage(environment, "shell", "--verbosity", "0", "-c", SHELL_RUNS).strip()
    finally:
        process_group_kill(beat)
    assert beat.stdout is not None
    log = beat.stdout.read().decode(errors="replace")
    assert runs == "1", log[-3000:]
