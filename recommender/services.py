"""Writes of the recommender outside the pipelines."""

from __future__ import annotations

from typing import Any, TypeVar

from celery import Task
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from infrastructure import cache
from infrastructure.outbox.services import outbox_enqueue
from recommender import kept_history, tasks
from recommender.models import (
    MerchandisingRule,
    MerchandisingSettings,
    PipelineKind,
    PipelineRun,
    PipelineStatus,
)
from recommender.pipelines import PipelineAlreadyRunningError, pipeline_runs_abandoned_fail
from recommender.schedules import SCHEDULE, PeriodicJob

PIPELINE_TASKS: dict[PipelineKind, Task[..., int | None]] = {
    PipelineKind.TRENDING: tasks.compute_trending,
    PipelineKind.SIMILARITY: tasks.compute_similarity,
    PipelineKind.CONTENT: tasks.compute_content_similarity,
    PipelineKind.BOUGHT_TOGETHER: tasks.compute_bought_together,
    PipelineKind.RANKING: tasks.compute_ranking,
    PipelineKind.SESSIONS: tasks.compute_sessions,
    PipelineKind.LIVE_RANKING: tasks.compute_live_ranking,
    PipelineKind.EVALUATION: tasks.evaluate,
}


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


def pipeline_enqueue(*, kind: PipelineKind) -> PipelineRun:
    """Queue one run of the pipeline now (an operator's "run now"): a queued run and its task
    are recorded in one transaction, and the task is sent through the outbox, so a broker that
    is down delays the run instead of losing it. Refused while a run of this pipeline is queued
    or running, so pressing the button twice starts one run."""
    pipeline_runs_abandoned_fail(kind=kind)
    try:
        with transaction.atomic():
            run = PipelineRun.objects.create(
                kind=kind, status=PipelineStatus.QUEUED, parameters={"requested": "by hand"}
            )
            outbox_enqueue(
                task=PIPELINE_TASKS[kind],
                kwargs={"queued_run": run.pk},
                expires_seconds=tasks.ENQUEUED_EXPIRES,
            )
    except IntegrityError as error:
        raise PipelineAlreadyRunningError(
            f"The {kind.label.lower()} pipeline is already queued or running."
        ) from error
    return run


# A refresh not started within this many seconds is dropped: by then the night's run is near
# or the product has changed again (which queued another).
CONTENT_REFRESH_EXPIRES = 6 * 60 * 60


def content_refresh_enqueue(*, product_ids: list[int]) -> None:
    """Compute these products' content neighbours soon (recommender.refresh_content), sent
    through the outbox in the caller's transaction: sent once it commits, never if it rolls
    back, and re-sent if the broker is down."""
    outbox_enqueue(
        task=tasks.refresh_content,
        kwargs={"product_ids": sorted(set(product_ids))},
        expires_seconds=CONTENT_REFRESH_EXPIRES,
    )


@transaction.atomic
def merchandising_rule_save(
    *, rule: MerchandisingRule | None = None, changed_by: User | AnonymousUser | None, **fields: Any
) -> MerchandisingRule:
    """Create a rule (rule=None) or change the given fields of one; validated as a whole
    (a ValidationError names the fields, nothing is saved). Takes effect on the next request
    (recommender.receivers.merchandising_invalidate)."""
    unknown = set(fields) - set(MerchandisingRule.EDITABLE)
    if unknown:
        raise TypeError(f"Not fields of a rule: {sorted(unknown)}")
    return _changed(rule if rule is not None else MerchandisingRule(), changed_by, fields)


def merchandising_rule_delete(*, rule: MerchandisingRule) -> None:
    rule.delete()


@transaction.atomic
def merchandising_settings_save(
    *, changed_by: User | AnonymousUser | None, **fields: Any
) -> MerchandisingSettings:
    """Change the shop's merchandising defaults (the one row, created on first change)."""
    shop, _ = MerchandisingSettings.objects.select_for_update().get_or_create(pk=1)
    return _changed(shop, changed_by, fields)


Changed = TypeVar("Changed", MerchandisingRule, MerchandisingSettings)


def _changed(
    row: Changed, changed_by: User | AnonymousUser | None, fields: dict[str, Any]
) -> Changed:
    """The row with the fields set, validated whole (the database's invariants as field
    errors), saved, and who changed it last."""
    for name, value in fields.items():
        setattr(row, name, value)
    row.changed_by = changed_by if isinstance(changed_by, User) else None
    row.full_clean()
    row.save()
    return row


def caches_flush() -> None:
    """Every cached list stale at once, and every kept history read again from the database
    (the staff's "flush caches", and an import)."""
    cache.flush()
    kept_history.histories_forget()
