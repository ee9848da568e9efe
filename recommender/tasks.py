"""Celery tasks: thin, named wrappers around the pipelines, safe to run twice.

A second run while one is active is refused by the pipeline (and logged, not retried); a run
repeated later recomputes and replaces the same results. Scheduling lives in schedules.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import shared_task
from django.utils.dateparse import parse_datetime

from recommender import pipelines
from recommender.models import EvaluationRun, PipelineRun

logger = logging.getLogger(__name__)

HOUR = 60 * 60


def _run(compute: Callable[..., PipelineRun | EvaluationRun], now: str | None) -> int | None:
    moment = parse_datetime(now) if now else None
    try:
        run = compute(now=moment)
    except pipelines.PipelineAlreadyRunningError as error:
        logger.info("Skipped: %s", error)
        return None
    return int(run.pk)


@shared_task(name="recommender.compute_trending", acks_late=True,
             soft_time_limit=10 * 60, time_limit=11 * 60)  # fmt: skip
def compute_trending(now: str | None = None) -> int | None:
    """Recompute trending scores; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.trending_compute, now)


# The hard limit stays within CELERY_TASK_TIME_LIMIT, after which a run counts as abandoned.
@shared_task(name="recommender.compute_similarity", acks_late=True,
             soft_time_limit=55 * 60, time_limit=HOUR)  # fmt: skip
def compute_similarity(now: str | None = None) -> int | None:
    """Recompute item-to-item neighbours; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.similarity_compute, now)


@shared_task(name="recommender.compute_content_similarity", acks_late=True,
             soft_time_limit=25 * 60, time_limit=30 * 60)  # fmt: skip
def compute_content_similarity(now: str | None = None) -> int | None:
    """Recompute content neighbours; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.content_compute, now)


@shared_task(name="recommender.evaluate", acks_late=True,
             soft_time_limit=25 * 60, time_limit=30 * 60)  # fmt: skip
def evaluate(now: str | None = None) -> int | None:
    """Evaluate the recommenders on the last week; returns the EvaluationRun id."""
    return _run(pipelines.evaluation_compute, now)
