"""The outbox's sweep, run every minute by beat (recommender.schedules) and when a worker starts."""

from __future__ import annotations

from celery import shared_task

from infrastructure.outbox import services


@shared_task(name="outbox.sweep", soft_time_limit=50, time_limit=60)
def sweep() -> int:
    """Re-send what the broker has not taken yet; returns how many were sent."""
    return services.outbox_sweep().sent
