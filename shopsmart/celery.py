"""The Celery application; tasks are discovered in each app's tasks.py.

Workers log as the web processes do (settings.LOGGING: JSON lines), and each task's records
carry the task id and the request id of the request that enqueued it (django-structlog).
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_ready
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")

app = Celery("shopsmart")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(DjangoStructLogInitStep)
app.autodiscover_tasks()


@setup_logging.connect
def _logging_as_configured(**kwargs: Any) -> None:
    """Use the project's logging, not Celery's own handlers."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@worker_ready.connect
def _outbox_swept(**kwargs: Any) -> None:
    """What the broker could not take while it was down goes out as soon as a worker is up
    (in this process: a task sent now could land in a queue this worker does not read)."""
    from django.db import connections

    from infrastructure.outbox.services import outbox_sweep

    try:
        outbox_sweep()
    finally:
        connections.close_all()  # the pool forks children from this process: leave them none
