from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from infrastructure.outbox.models import OutboxMessage
from infrastructure.outbox.services import KEEP_SENT, outbox_enqueue, outbox_sweep
from recommender.models import PipelineRun, PipelineStatus, TrendingScore
from recommender.tasks import compute_trending
from recommender.tests.waiting import eventually, wait_for_run
from shopsmart.celery import app
from shopsmart.tests.processes import current_database_url
from shopsmart.tests.test_settings import run_python
from tracking.tests.factories import EventFactory

TASK = compute_trending.name


def _enqueue_then_fail() -> None:
    with transaction.atomic():
        outbox_enqueue(task=compute_trending, kwargs={"queued_run": 2})
        raise RuntimeError("the caller's work failed")


@pytest.mark.django_db
def test_a_message_is_sent_when_its_transaction_commits_and_never_if_it_rolls_back(
    sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            kept = outbox_enqueue(task=compute_trending, kwargs={"queued_run": 1})
            assert sent_tasks == []
        with pytest.raises(RuntimeError):
            _enqueue_then_fail()
    assert sent_tasks == [(TASK, {"queued_run": 1})]
    kept.refresh_from_db()
    assert (kept.sent_at is not None, kept.attempts) == (True, 1)
    assert list(OutboxMessage.objects.all()) == [kept]


@pytest.mark.django_db
def test_the_sweep_sends_only_what_is_unsent_and_old_enough_and_forgets_old_sent(sent_tasks):
    now = timezone.now()
    unsent = OutboxMessage.objects.create(task=TASK, kwargs={"queued_run": 1})
    fresh = OutboxMessage.objects.create(task=TASK, kwargs={"queued_run": 2})
    sent = OutboxMessage.objects.create(task=TASK, kwargs={"queued_run": 3}, sent_at=now)
    old = OutboxMessage.objects.create(
        task=TASK, kwargs={"queued_run": 4}, sent_at=now - KEEP_SENT - timedelta(hours=1)
    )
    OutboxMessage.objects.filter(pk__in=[unsent.pk, sent.pk, old.pk]).update(
        created_at=now - timedelta(minutes=5)
    )

    result = outbox_sweep(now=now)

    assert sent_tasks == [(TASK, {"queued_run": 1})]
    assert (result.sent, result.unsent, result.deleted) == (1, 1, 1)
    assert set(OutboxMessage.objects.filter(sent_at__isnull=True)) == {fresh}
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()
    assert outbox_sweep(now=now).sent == 0


def test_the_sweep_is_declared_in_the_beat_schedule():
    from infrastructure.outbox.tasks import sweep
    from recommender.schedules import SCHEDULE

    job = next(job for job in SCHEDULE if job.task == sweep.name)
    assert job.minute == "*"
    assert job.expire_seconds < 60  # a missed sweep is replaced by the next one


# "Run now" pressed in a process whose broker is down (nothing listens on port 1).
RUN_NOW_WITH_THE_BROKER_DOWN = """
import json, time, django
django.setup()
from recommender.models import PipelineKind
from recommender.services import pipeline_enqueue
started = time.monotonic()
run = pipeline_enqueue(kind=PipelineKind.TRENDING)
print(json.dumps({"run": run.pk, "seconds": time.monotonic() - started}))
"""


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_run_now_with_the_broker_down_is_kept_and_sent_once_when_it_is_back():
    EventFactory.create()
    result = run_python(
        RUN_NOW_WITH_THE_BROKER_DOWN,
        "shopsmart.settings.base",
        DATABASE_URL=current_database_url(),
        CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:1//",
        LOG_LEVEL="CRITICAL",
    )
    assert result.returncode == 0, result.stderr
    pressed = json.loads(result.stdout.strip().splitlines()[-1])
    assert pressed["seconds"] < 5  # the operator did not wait on the broker (one retry)
    run = PipelineRun.objects.get(pk=pressed["run"])
    assert run.status == PipelineStatus.QUEUED
    message = OutboxMessage.objects.get()
    assert (message.sent_at, message.attempts) == (None, 1)
    assert message.last_error

    # The broker is back: the sweep sends it, a worker runs it, and sending it again (as a
    # sweep would after a crash between the broker's acceptance and the sent mark) changes
    # nothing.
    finished: list[str] = []

    def record(task_id: str, **kwargs: Any) -> None:
        finished.append(task_id)

    task_postrun.connect(record, weak=False)
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        assert outbox_sweep(grace=timedelta(0)).sent == 1
        wait_for_run(Q(pk=run.pk, status=PipelineStatus.SUCCEEDED), seconds=30)
        scores = sorted(TrendingScore.objects.values_list("id", "score"))
        OutboxMessage.objects.update(sent_at=None)
        assert outbox_sweep(grace=timedelta(0)).sent == 1
        eventually(lambda: finished.count(f"outbox-{message.pk}") == 2, seconds=30)
    task_postrun.disconnect(record)
    assert finished.count(f"outbox-{message.pk}") == 2
    run.refresh_from_db()
    assert run.status == PipelineStatus.SUCCEEDED, run.error
    assert PipelineRun.objects.count() == 1
    assert sorted(TrendingScore.objects.values_list("id", "score")) == scores
    assert OutboxMessage.objects.filter(sent_at__isnull=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_starting_worker_sweeps_what_waits(sent_tasks):
    from celery.signals import worker_ready

    waiting = OutboxMessage.objects.create(task=TASK, kwargs={"queued_run": 5})
    OutboxMessage.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    worker_ready.send(sender=None)
    assert sent_tasks == [(TASK, {"queued_run": 5})]
    waiting.refresh_from_db()
    assert waiting.sent_at is not None


@pytest.mark.django_db
def test_without_a_broker_run_now_runs_the_pipeline_when_it_commits(
    eager_celery, django_capture_on_commit_callbacks
):
    from recommender.models import PipelineKind
    from recommender.services import pipeline_enqueue

    EventFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        run = pipeline_enqueue(kind=PipelineKind.TRENDING)
    run.refresh_from_db()
    assert run.status == PipelineStatus.SUCCEEDED, run.error
    assert TrendingScore.objects.exists()
    assert OutboxMessage.objects.get().sent_at is not None
