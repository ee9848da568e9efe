"""The Celery application; tasks are discovered in each app's tasks.py.

Workers log as the web processes do (settings.LOGGING: JSON lines), and each task's records
carry the task id and the request id of the request that enqueued it (django-structlog).
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging
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
