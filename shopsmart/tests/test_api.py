from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from recommender.models import PipelineKind, PipelineStatus
from recommender.tests.factories import PipelineRunFactory

pytestmark = pytest.mark.django_db


def test_ping_touches_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = APIClient().get("/api/ping")
    assert response.json() == {"status": "ok"}


def test_health_reports_each_service_and_pipeline_age(settings):
    PipelineRunFactory.create(kind=PipelineKind.TRENDING, status=PipelineStatus.SUCCEEDED)
    response = APIClient().get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "up"
    expected_cache = "up" if settings.REDIS_URL else "in-process"
    assert body["cache"] == expected_cache
    assert body["pipelines_last_success_seconds_ago"]["similarity"] is None
    assert set(body["cache_statistics"]) == {"rec", "sim", "trending", "search", "merch", "exp"}


def test_the_schema_validates_without_warnings_and_documents_every_error(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    operations = schema["paths"]
    assert {"400", "401", "403"} <= set(operations["/api/recommendations"]["get"]["responses"])
    assert {"400", "429"} <= set(operations["/api/events"]["post"]["responses"])
    assert "404" in operations["/api/products/{id}/similar"]["get"]["responses"]
    assert "503" in operations["/api/health"]["get"]["responses"]


def test_the_docs_are_served_from_local_files():
    page = APIClient().get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()
