"""Celery tasks of the tracking app: thin, named wrappers, safe to run twice. Scheduling
lives in recommender/schedules.py, the one declaration of every periodic job."""

from __future__ import annotations

from celery import shared_task

from tracking.impressions import impressions_flush


@shared_task(name="tracking.flush_impressions", acks_late=True,
             soft_time_limit=50, time_limit=55)  # fmt: skip
def flush_impressions() -> int:
    """Write the buffered impressions to the database; returns how many."""
    return impressions_flush()
