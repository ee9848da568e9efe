"""The state of the services the store depends on, for /api/health and the dashboard."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from kombu import Connection

from recommender.models import PipelineKind
from recommender.selectors import pipeline_last_successes

logger = logging.getLogger(__name__)

UP, DOWN, IN_PROCESS = "up", "down", "in-process"
BROKER_TIMEOUT_SECONDS = 1


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Database health check failed")
        return DOWN
    return UP


def cache_status() -> str:
    if not settings.REDIS_URL:
        return IN_PROCESS
    # django-redis swallows errors on ordinary calls (settings: IGNORE_EXCEPTIONS), so ask the
    # server itself.
    from django_redis import get_redis_connection

    try:
        get_redis_connection("default").ping()
    except Exception:
        logger.exception("Cache health check failed")
        return DOWN
    return UP


def broker_status() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return IN_PROCESS
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception:
        logger.exception("Broker health check failed")
        return DOWN
    return UP


def pipeline_ages() -> dict[str, float | None]:
    """Seconds since each pipeline's last successful run finished (None: never)."""
    finished = pipeline_last_successes()
    now = timezone.now()
    return {
        kind.value: (
            round((now - finished[kind]).total_seconds(), 1) if finished.get(kind) else None
        )
        for kind in PipelineKind
    }


def health() -> dict[str, Any]:
    database = database_status()
    return {
        "status": "ok" if database == UP else "unavailable",
        "database": database,
        "cache": cache_status(),
        "broker": broker_status(),
        "pipelines_last_success_seconds_ago": pipeline_ages() if database == UP else {},
    }
