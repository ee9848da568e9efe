"""The transactional outbox: a task that must reach a worker is written to the database in the
caller's transaction, sent to the broker after the commit, and re-sent by the sweep (every
minute from beat, and when a worker starts) until the broker has taken it.

A message is sent at least once, never lost with the broker down; the tasks it starts are
idempotent (a pipeline's queued run starts once), so a second send has no second effect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Task, current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from infrastructure.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

# A message younger than this is still being sent by its own commit hook; the sweep leaves it.
SWEEP_GRACE = timedelta(seconds=30)
SWEEP_BATCH = 100
# Sent messages are kept this long for the record, then deleted by the sweep.
KEEP_SENT = timedelta(days=7)


@dataclass(frozen=True)
class SweepResult:
    sent: int
    unsent: int
    deleted: int


def outbox_enqueue(
    *, task: Task[..., Any], kwargs: dict[str, Any], expires_seconds: int | None = None
) -> OutboxMessage:
    """Record `task` to be sent; it goes to the broker when the caller's transaction commits
    (and not at all if it rolls back)."""
    message = OutboxMessage.objects.create(
        task=task.name, kwargs=kwargs, expires_seconds=expires_seconds
    )
    transaction.on_commit(lambda: _send(message))
    return message


def _send(message: OutboxMessage) -> bool:
    """Hand one message to the broker; a broker that is down leaves it for the sweep."""
    options: dict[str, Any] = {"kwargs": message.kwargs}
    if message.expires_seconds is not None:
        options["expires"] = message.expires_seconds
    if current_app.conf.task_always_eager:
        # No broker (the zero-configuration store): the task runs here, now, once.
        _record(message, sent=True)
        current_app.loader.import_default_modules()  # every app's tasks, as a worker has them
        current_app.tasks[message.task].apply_async(**options)
        return True
    try:
        # No publish retries here: the sweep is the retry, and a request must not wait on it.
        # By name: a sweep may send a task whose module this process never imported.
        current_app.send_task(message.task, **options, task_id=f"outbox-{message.pk}", retry=False)
    except OperationalError as error:
        logger.warning("Could not send %s; the outbox sweep will retry: %s", message, error)
        _record(message, sent=False, error=str(error))
        return False
    _record(message, sent=True)
    return True


def _record(message: OutboxMessage, *, sent: bool, error: str = "") -> None:
    changes: dict[str, Any] = {"attempts": F("attempts") + 1, "last_error": error[:1_000]}
    if sent:
        changes["sent_at"] = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(**changes)


def outbox_sweep(*, now: datetime | None = None, grace: timedelta = SWEEP_GRACE) -> SweepResult:
    """Send every message the broker has not taken yet, oldest first, and forget sent ones
    after a week. Sweeps may run at once on several workers: each claims rows with SKIP LOCKED.
    A broker still down ends the sweep at its first refusal; the next sweep tries again."""
    now = now or timezone.now()
    sent = 0
    refused = False
    while not refused:
        with transaction.atomic():
            batch = list(
                OutboxMessage.objects.select_for_update(skip_locked=True).filter(
                    sent_at__isnull=True, created_at__lte=now - grace
                )[:SWEEP_BATCH]
            )
            for message in batch:
                if not _send(message):
                    refused = True
                    break
                sent += 1
        if len(batch) < SWEEP_BATCH:
            break
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=now - KEEP_SENT).delete()
    unsent = OutboxMessage.objects.filter(sent_at__isnull=True).count()
    if sent or refused:
        logger.info("Outbox sweep: %d sent, %d still unsent", sent, unsent)
    return SweepResult(sent=sent, unsent=unsent, deleted=deleted)
