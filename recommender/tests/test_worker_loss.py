"""A pipeline's process killed mid-run (kill -9): nothing it half-wrote is kept, the previous
results stay served, its run is failed as soon as another process looks (not an hour later),
and the broker hands its task to the next worker, which runs it to the end."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from kombu import Queue

from catalog.tests.factories import ProductFactory
from recommender import pipelines
from recommender.models import PipelineKind, PipelineRun, PipelineStatus, TrendingScore
from recommender.tasks import compute_trending
from recommender.tests.waiting import eventually
from shopsmart.celery import app
from shopsmart.tests.processes import (
    ROOT,
    current_database_url,
    process_group_kill,
    service_environment,
    worker_start,
)
from tracking.tests.factories import EventFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLAIM_AND_DIE = """
import os, signal, django
django.setup()
from recommender.models import PipelineKind
from recommender.pipelines import pipeline_run_claim
print(pipeline_run_claim(kind=PipelineKind.TRENDING, parameters={}).pk, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def status_of(run: PipelineRun) -> str:
    run.refresh_from_db()
    return run.status


def test_a_run_whose_process_died_is_failed_at_once_and_a_live_one_is_not():
    EventFactory.create()
    died = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CLAIM_AND_DIE],
        cwd=ROOT,
        env=service_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    lost = PipelineRun.objects.get(pk=int(died.stdout.split()[0]))
    assert (lost.status, lost.held) == (PipelineStatus.RUNNING, True)
    live = pipelines.pipeline_run_claim(kind=PipelineKind.SIMILARITY, parameters={})
    try:

        def lost_is_failed() -> bool:
            for kind in (PipelineKind.TRENDING, PipelineKind.SIMILARITY):
                pipelines.pipeline_runs_abandoned_fail(kind=kind)
            return status_of(lost) == PipelineStatus.FAILED

        # PostgreSQL ends the dead process's session when it reads the closed socket.
        assert eventually(lost_is_failed, seconds=10)
        assert "ended mid-run" in lost.error
        assert status_of(live) == PipelineStatus.RUNNING
        # The lost run no longer stands in the pipeline's way.
        assert pipelines.trending_compute().status == PipelineStatus.SUCCEEDED
    finally:
        pipelines.pipeline_run_release(live)


def trending_rows() -> list[tuple[int, str, float]]:
    return sorted(TrendingScore.objects.values_list("product_id", "window", "score"))


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        (waiting,) = cursor.fetchone() or (0,)
    return bool(waiting)


@pytest.mark.broker
def test_a_worker_killed_mid_swap_keeps_the_previous_results_and_its_task_runs_again():
    now = timezone.now()
    EventFactory.create_batch(3, occurred_at=now - timedelta(days=2))
    pipelines.trending_compute(now=now - timedelta(days=1))
    previous = trending_rows()
    for product in ProductFactory.create_batch(4):
        EventFactory.create(product=product, occurred_at=now - timedelta(hours=1))

    queue = f"test-worker-loss-{uuid.uuid4().hex}"
    worker = worker_start(queue)
    # A reader of the trending table, as a shopper's request would be: the pipeline has built
    # its new table and waits to swap it in when the worker is killed.
    reader = psycopg.connect(current_database_url())
    try:
        reader.execute("SELECT count(*) FROM recommender_trendingscore")
        compute_trending.apply_async(kwargs={"now": now.isoformat()}, queue=queue)
        assert eventually(waiting_on_a_lock, seconds=60), "the pipeline never reached its swap"
        killed = PipelineRun.objects.get(status=PipelineStatus.RUNNING)
        process_group_kill(worker)
        reader.rollback()
        assert eventually(lambda: killed.pk not in pipelines.pipeline_runs_held(), seconds=30)

        assert trending_rows() == previous
        assert status_of(killed) == PipelineStatus.RUNNING  # nobody has looked yet

        worker = worker_start(queue)  # the broker redelivers the unacknowledged task to it
        assert eventually(
            lambda: PipelineRun.objects.filter(
                pk__gt=killed.pk, status=PipelineStatus.SUCCEEDED
            ).exists(),
            seconds=90,
        ), "the redelivered task did not run"
    finally:
        reader.close()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        with app.connection_for_write() as broker:
            Queue(queue).bind(broker.default_channel).delete()

    assert status_of(killed) == PipelineStatus.FAILED
    assert "ended mid-run" in killed.error
    runs = PipelineRun.objects.filter(kind=PipelineKind.TRENDING)
    assert runs.filter(status=PipelineStatus.SUCCEEDED).count() == 2  # before, and the retry
    assert not runs.filter(status__in=[PipelineStatus.QUEUED, PipelineStatus.RUNNING]).exists()
    rows = trending_rows()
    assert rows != previous
    assert set(TrendingScore.objects.values_list("computed_at", flat=True)) == {now}
