"""Writes of the recommender outside the pipelines."""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from recommender.schedules import SCHEDULE, PeriodicJob


@transaction.atomic
def schedule_install(*, jobs: tuple[PeriodicJob, ...] = SCHEDULE) -> dict[str, int]:
    """Create the declared periodic tasks that are missing; safe to run on every deploy.

    A task that exists keeps its schedule and enabled flag (operators change those in the admin);
    only what the code owns, the task path, expiry and description, is brought up to date.
    """
    created = updated = 0
    for job in jobs:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=job.minute,
            hour=job.hour,
            day_of_week=job.day_of_week,
            day_of_month="*",
            month_of_year="*",
            timezone="UTC",
        )
        _, was_created = PeriodicTask.objects.update_or_create(
            name=job.name,
            defaults={
                "task": job.task,
                "expire_seconds": job.expire_seconds,
                "description": job.description,
            },
            create_defaults={
                "task": job.task,
                "expire_seconds": job.expire_seconds,
                "description": job.description,
                "crontab": crontab,
                "enabled": True,
            },
        )
        created += was_created
        updated += not was_created
    return {"created": created, "kept": updated}
