from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
import structlog
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from recommender import serving
from recommender.tests.factories import PipelineRunFactory
from tracking.tests.factories import UserFactory, role_member

pytestmark = pytest.mark.django_db


class JsonLog:
    """What the project's JSON formatter writes for the records of every logger."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processor=structlog.processors.JSONRenderer(),
                foreign_pre_chain=[structlog.contextvars.merge_contextvars],
            )
        )
        self.attach()

    def attach(self) -> None:
        """(Again, after something reconfigured logging, as a starting worker does.)"""
        logging.getLogger().addHandler(self.handler)

    def __call__(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def json_log():
    log = JsonLog()
    yield log
    logging.getLogger().removeHandler(log.handler)


def test_every_request_logs_json_with_the_proxy_s_request_id(client, json_log, settings):
    settings.DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
    client.get(reverse("catalog:home"), HTTP_X_REQUEST_ID="3f2a-test")
    records = json_log()
    finished = [r for r in records if r.get("event") == "request_finished"]
    assert finished
    assert finished[-1]["request_id"] == "3f2a-test"
    assert finished[-1]["code"] == 200


def test_requests_get_their_own_id_unless_a_trusted_proxy_sent_one(client, json_log):
    client.get(reverse("catalog:home"), HTTP_X_REQUEST_ID="made-up-by-a-client")
    ids = {r["request_id"] for r in json_log() if r.get("event") == "request_finished"}
    assert len(ids) == 1
    assert len(ids.pop()) >= 32


def test_metrics_show_requests_recommendations_caches_and_pipelines(client):
    ProductFactory.create()
    client.get(reverse("catalog:home"))
    serving.recommendations(serving.RecommendationRequest(visitor="someone", k=3))
    PipelineRunFactory.create(
        kind="trending",
        status="succeeded",
        started_at=timezone.now() - timedelta(seconds=3),
        finished_at=timezone.now(),
    )
    body = client.get("/metrics").content.decode()
    assert 'shopsmart_request_seconds_count{method="GET",status="200",view="catalog:home"}' in body
    assert 'shopsmart_recommendation_seconds_count{strategy="' in body
    assert 'shopsmart_cache_lookups_total{family="rec",result="miss"}' in body
    assert 'shopsmart_pipeline_runs_total{kind="trending",status="succeeded"} 1.0' in body
    assert 'shopsmart_pipeline_last_duration_seconds{kind="trending",status="succeeded"}' in body


def test_metrics_are_not_public_in_production(client, settings):
    settings.METRICS_PUBLIC = False
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    client.force_login(UserFactory.create(is_staff=True))  # staff, but not an operator
    assert client.get("/metrics").status_code == 403
    client.force_login(role_member("Operator", is_staff=True))
    assert client.get("/metrics").status_code == 200


def test_without_a_token_production_metrics_are_for_staff_only(client, settings):
    settings.METRICS_PUBLIC = False
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_task_logs_with_the_request_id_of_the_request_that_enqueued_it(
    client, json_log, settings
):
    from celery.contrib.testing.worker import start_worker
    from django.db.models import Q

    from recommender.models import PipelineRun, PipelineStatus
    from recommender.tests.waiting import wait_for_run
    from shopsmart.celery import app
    from tracking.tests.factories import EventFactory

    settings.DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
    EventFactory.create()
    client.force_login(role_member("Operator", is_staff=True))
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        json_log.attach()
        client.post(
            reverse("dashboard:pipeline_run", args=["trending"]), HTTP_X_REQUEST_ID="run-now-42"
        )
        wait_for_run(Q(status=PipelineStatus.SUCCEEDED), seconds=30)
    assert PipelineRun.objects.get().status == PipelineStatus.SUCCEEDED
    task_records = [r for r in json_log() if r.get("task_id")]
    assert task_records
    assert {r.get("request_id") for r in task_records} == {"run-now-42"}
