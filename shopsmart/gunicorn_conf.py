"""gunicorn hooks for production: Prometheus metrics summed over the worker processes.

With PROMETHEUS_MULTIPROC_DIR set (the Dockerfile sets it), each worker writes its metrics
there; the directory is emptied when the server starts and a dead worker's live gauges are
dropped, as prometheus_client's multiprocess mode requires.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from prometheus_client import multiprocess


def on_starting(server: Any) -> None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
