from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from recommender import tasks
from recommender.models import PipelineKind, PipelineRun, PipelineStatus, TrendingScore
from recommender.tests.factories import PipelineRunFactory
from tracking.tests.factories import EventFactory, UserFactory, role_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(role_member("Operator", is_staff=True))
    return client


def run_now(client, kind: str):
    return client.post(reverse("dashboard:pipeline_run", args=[kind]))


def test_pipelines_page_is_for_staff_only(client):
    url = reverse("dashboard:pipelines")
    assert client.get(url)["Location"].startswith(reverse("login"))
    assert run_now(client, "trending")["Location"].startswith(reverse("login"))
    client.force_login(UserFactory.create())
    assert client.get(url).status_code == 403
    assert run_now(client, "trending").status_code == 403
    assert not PipelineRun.objects.exists()


def test_run_now_enqueues_one_task_and_refuses_a_second_while_it_is_queued(
    staff, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = run_now(staff, "trending")
        second = run_now(staff, "trending")
    assert first["Location"] == second["Location"] == reverse("dashboard:pipelines")
    run = PipelineRun.objects.get()
    assert (run.kind, run.status) == (PipelineKind.TRENDING, PipelineStatus.QUEUED)
    assert sent_tasks == [("recommender.compute_trending", {"queued_run": run.pk})]
    page = staff.get(reverse("dashboard:pipelines")).content.decode()
    assert "is already queued or running" in page
    assert "Running&hellip;" in page
    assert '<meta http-equiv="refresh"' in page


def test_the_task_starts_the_queued_run_once(staff, sent_tasks, django_capture_on_commit_callbacks):
    EventFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        run_now(staff, "trending")
    queued = PipelineRun.objects.get()
    assert tasks.compute_trending(queued_run=queued.pk) == queued.pk
    queued.refresh_from_db()
    assert queued.status == PipelineStatus.SUCCEEDED
    assert TrendingScore.objects.exists()
    # The same message delivered again does nothing.
    assert tasks.compute_trending(queued_run=queued.pk) is None
    assert PipelineRun.objects.count() == 1
    page = staff.get(reverse("dashboard:pipelines")).content.decode()
    assert "Results from" in page
    assert "Succeeded" in page


def test_a_running_pipeline_cannot_be_started_but_another_can(staff, sent_tasks):
    PipelineRunFactory.create(kind=PipelineKind.SIMILARITY, status=PipelineStatus.RUNNING)
    run_now(staff, "similarity")
    run_now(staff, "content")
    assert PipelineRun.objects.filter(kind=PipelineKind.SIMILARITY).count() == 1
    assert PipelineRun.objects.filter(kind=PipelineKind.CONTENT).count() == 1
    assert run_now(staff, "nonsense").status_code == 404


def test_flush_invalidates_the_caches(staff):
    from infrastructure import cache

    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return len(computed)

    def answer() -> int:
        return cache.cached(cache.TRENDING, "x", timeout=60, compute=compute)

    answer()
    answer()
    assert staff.post(reverse("dashboard:caches_flush"))["Location"] == reverse(
        "dashboard:pipelines"
    )
    answer()
    assert len(computed) == 2
    page = staff.get(reverse("dashboard:pipelines")).content.decode()
    assert "Cache hit rates since start" in page


def test_the_page_says_when_tasks_wait_for_the_broker(staff):
    from infrastructure.outbox.models import OutboxMessage

    assert (
        "waiting for the broker" not in staff.get(reverse("dashboard:pipelines")).content.decode()
    )
    OutboxMessage.objects.create(
        task=tasks.compute_trending.name, attempts=2, last_error="[Errno 111] Connection refused"
    )
    OutboxMessage.objects.create(task=tasks.evaluate.name, sent_at=timezone.now())
    page = staff.get(reverse("dashboard:pipelines")).content.decode()
    assert "1 task waiting for the broker since" in page
    assert "Connection refused" in page
