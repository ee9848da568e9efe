from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.db.models import Q
from django.utils import timezone

from recommender import tasks
from recommender.models import (
    LearnedRecommendation,
    PipelineKind,
    PipelineRun,
    PipelineStatus,
    TrendingScore,
)
from recommender.schedules import SCHEDULE
from recommender.services import schedule_install
from recommender.tests.factories import PipelineRunFactory, synthetic_store_in_the_database
from recommender.tests.waiting import wait_for_run
from shopsmart.celery import app
from tracking.tests.factories import EventFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_task_is_named_and_limited():
    app.loader.import_default_modules()  # every app's tasks.py, as a worker loads them
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert {"recommender.compute_ranking", "outbox.sweep", "dashboard.refresh_overview"} <= set(
        ours
    )
    for name, task in ours.items():
        assert name.split(".")[0] in {"recommender", "outbox", "dashboard", "mail", "tracking"}, (
            name
        )
        assert task.soft_time_limit is not None, name
        assert task.time_limit is not None, name
        assert task.soft_time_limit < task.time_limit, name
        if name.startswith("recommender."):
            assert task.acks_late, name
    assert {job.task for job in SCHEDULE} <= set(app.tasks)


def test_task_runs_the_pipeline_and_returns_the_run_id():
    now = timezone.now()
    EventFactory.create(occurred_at=now - timedelta(hours=1))
    run_id = tasks.compute_trending.apply(kwargs={"now": now.isoformat()}).get()
    assert run_id is not None
    run = PipelineRun.objects.get(pk=run_id)
    assert (run.kind, run.status) == (PipelineKind.TRENDING, PipelineStatus.SUCCEEDED)
    assert TrendingScore.objects.count() == 2


def test_task_while_the_pipeline_runs_is_skipped_not_failed():
    PipelineRunFactory.create(
        kind=PipelineKind.SIMILARITY, status=PipelineStatus.RUNNING, started_at=timezone.now()
    )
    assert tasks.compute_similarity.apply().get() is None
    assert PipelineRun.objects.filter(kind=PipelineKind.SIMILARITY).count() == 1


def test_schedule_is_installed_once_however_often_the_installer_runs():
    from django_celery_beat.models import PeriodicTask

    assert schedule_install() == {"created": len(SCHEDULE), "kept": 0}
    assert schedule_install() == {"created": 0, "kept": len(SCHEDULE)}
    assert PeriodicTask.objects.filter(name__in=[j.name for j in SCHEDULE]).count() == len(SCHEDULE)
    similarity = PeriodicTask.objects.get(task="recommender.compute_similarity")
    assert (similarity.crontab.minute, similarity.crontab.hour) == ("0", "2")
    assert str(similarity.crontab.timezone) == "UTC"
    assert similarity.expire_seconds == 3 * 60 * 60
    evaluation = PeriodicTask.objects.get(task="recommender.evaluate")
    crontab = evaluation.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("0", "3", "0")  # Sunday


def test_operator_changes_to_the_schedule_survive_a_reinstall():
    from django_celery_beat.models import PeriodicTask

    schedule_install()
    PeriodicTask.objects.filter(task="recommender.compute_trending").update(enabled=False)
    schedule_install()
    assert not PeriodicTask.objects.get(task="recommender.compute_trending").enabled


@pytest.mark.broker
def test_a_task_sent_through_the_real_broker_is_run_by_a_worker():
    EventFactory.create()
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        tasks.compute_trending.delay()
        wait_for_run(Q(status=PipelineStatus.SUCCEEDED), seconds=30)
    assert PipelineRun.objects.get().status == PipelineStatus.SUCCEEDED
    assert TrendingScore.objects.count() == 2


def test_distributed_similarity_runs_as_a_chord_and_swaps_once(eager_celery):
    EventFactory.create_batch(3)
    run_id = tasks.compute_similarity_distributed.apply(kwargs={"blocks": 2}).get()
    assert run_id is not None
    run = PipelineRun.objects.get(pk=run_id)
    assert run.status == PipelineStatus.SUCCEEDED
    assert run.parameters["distributed_blocks"] == 2
    assert "swap" in run.statistics["seconds"]


def test_distributed_ranking_runs_as_a_chord_and_swaps_once(eager_celery):
    synthetic_store_in_the_database(timezone.now())
    run_id = tasks.compute_ranking_distributed.apply(kwargs={"blocks": 2}).get()
    assert run_id is not None
    run = PipelineRun.objects.get(pk=run_id)
    assert run.status == PipelineStatus.SUCCEEDED, run.error
    assert len(run.statistics["ranges"]) == 2
    assert run.statistics["rows_written"] == LearnedRecommendation.objects.count() > 0


def test_a_distributed_ranking_with_nothing_to_learn_empties_the_lists_at_once(eager_celery):
    EventFactory.create_batch(3)  # views only: no buyer to learn from
    run_id = tasks.compute_ranking_distributed.apply(kwargs={"blocks": 2}).get()
    assert run_id is not None
    run = PipelineRun.objects.get(pk=run_id)
    assert run.status == PipelineStatus.SUCCEEDED
    assert run.statistics["learnt"] is False
    assert run.statistics["rows_written"] == 0


@pytest.mark.broker
@pytest.mark.redis
def test_distributed_ranking_chord_through_the_real_broker_and_result_backend():
    synthetic_store_in_the_database(timezone.now())
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        tasks.compute_ranking_distributed.delay(blocks=3)
        wait_for_run(~Q(status=PipelineStatus.RUNNING), seconds=120)
    run = PipelineRun.objects.get()
    assert run.status == PipelineStatus.SUCCEEDED, run.error
    assert len(run.statistics["ranges"]) == 3
    assert run.statistics["rows_written"] == LearnedRecommendation.objects.count() > 0


@pytest.mark.broker
@pytest.mark.redis
def test_distributed_similarity_chord_through_the_real_broker_and_result_backend():
    EventFactory.create_batch(3)
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        tasks.compute_similarity_distributed.delay(blocks=3)
        wait_for_run(~Q(status=PipelineStatus.RUNNING), seconds=60)
    run = PipelineRun.objects.get()
    assert run.status == PipelineStatus.SUCCEEDED, run.error
    assert len(run.statistics["ranges"]) == 3
