"""Writes of the recommender outside the pipelines."""

from __future__ import annotations

from typing import Any

from celery import Task
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from infrastructure.outbox.services import outbox_enqueue
from recommender import tasks
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


RULE_FIELDS = (
    "kind",
    "product",
    "category",
    "price_min",
    "price_max",
    "strength",
    "position",
    "surfaces",
    "on_category",
    "on_product",
    "starts_at",
    "ends_at",
    "note",
)


@transaction.atomic
def merchandising_rule_save(
    *, rule: MerchandisingRule | None = None, changed_by: User | AnonymousUser | None, **fields: Any
) -> MerchandisingRule:
    """Create a rule (rule=None) or change the given fields of one; validated as a whole
    (a ValidationError names the fields, nothing is saved). Takes effect on the next request
    (recommender.receivers.merchandising_invalidate)."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"Not fields of a rule: {sorted(unknown)}")
    rule = rule if rule is not None else MerchandisingRule()
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.changed_by = changed_by if isinstance(changed_by, User) else None
    rule.full_clean()
    rule.save()
    return rule


def merchandising_rule_delete(*, rule: MerchandisingRule) -> None:
    rule.delete()


@transaction.atomic
def merchandising_settings_save(
    *, changed_by: User | AnonymousUser | None, **fields: Any
) -> MerchandisingSettings:
    """Change the shop's merchandising defaults (the one row, created on first change)."""
    shop, _ = MerchandisingSettings.objects.select_for_update().get_or_create(pk=1)
    for name, value in fields.items():
        setattr(shop, name, value)
    shop.changed_by = changed_by if isinstance(changed_by, User) else None
    shop.full_clean()
    shop.save()
    return shop
