"""Other processes (a worker, a shell) working on the database this test runs against."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def current_database_url() -> str:
    """The URL of pytest-django's test database, for a process started by the test."""
    config = connection.settings_dict
    password = f":{quote(config['PASSWORD'], safe='')}" if config["PASSWORD"] else ""
    user = quote(config["USER"], safe="")
    return f"postgres://{user}{password}@{config['HOST']}:{config['PORT']}/{config['NAME']}"


def service_environment(**overrides: str) -> dict[str, str]:
    """This test process's environment, pointed at its own test database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shopsmart.settings.base",
        "DATABASE_URL": current_database_url(),
        "CACHE_KEY_PREFIX": "shopsmart-test",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


def worker_start(queue: str) -> subprocess.Popen[bytes]:
    """A real Celery worker process (one prefork child) reading only `queue`, in a process
    group of its own so that a test can kill it and its child at once."""
    worker = "worker --concurrency 1 --pool prefork --without-gossip --without-mingle"
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "shopsmart", *worker.split(), "--queues", queue],
        cwd=ROOT,
        env=service_environment(),
        start_new_session=True,
    )


def process_group_kill(process: subprocess.Popen[bytes]) -> None:
    """kill -9 the process and every child of it: no shutdown handler runs."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
