"""Failures answer briefly and say nothing of the server's insides."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from shopsmart.tests.test_settings import run_python

pytestmark = pytest.mark.django_db

# Requests against a PostgreSQL address nothing listens on, through the whole middleware stack.
UNREACHABLE_DATABASE_PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client(SERVER_NAME="localhost")
answers = {}
for path in ("/api/products", "/", "/api/health"):
    response = client.get(path)
    answers[path] = [response.status_code, response.get("Retry-After"),
                     response["Content-Type"], response.content.decode()]
print(json.dumps(answers))
"""


def test_an_unexpected_failure_is_a_bare_500_for_pages_and_the_api(settings):
    settings.ROOT_URLCONF = "shopsmart.tests.failing_urls"
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    page, api = client.get("/broken"), client.get("/api/broken")

    assert (page.status_code, api.status_code) == (500, 500)
    assert api.json() == {"detail": "A server error occurred."}
    for body in (page.content.decode(), api.content.decode()):
        for secret in ("Traceback", "no_such_table", "secret_column", "SELECT", "File "):
            assert secret not in body


def test_a_path_no_endpoint_matches_is_a_json_404_under_the_api(settings):
    settings.DEBUG = False
    api = Client().get("/api/products/not-a-number")
    page = Client().get("/no-such-page/")
    assert (api.status_code, api["Content-Type"]) == (404, "application/json")
    assert api.json() == {"detail": "Not found."}
    assert (page.status_code, page["Content-Type"]) == (404, "text/html; charset=utf-8")


def test_an_unreachable_database_is_a_fast_503_with_retry_after():
    started = time.monotonic()
    result = run_python(
        UNREACHABLE_DATABASE_PROBE,
        "shopsmart.settings.base",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/shopsmart",
        DEBUG="false",
        ALLOWED_HOSTS="localhost",
        LOG_LEVEL="CRITICAL",
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert time.monotonic() - started < 30

    status, retry_after, content_type, body = answers["/api/products"]
    assert (status, retry_after, content_type) == (503, "5", "application/json")
    assert "briefly unavailable" in json.loads(body)["detail"]
    status, retry_after, _, body = answers["/"]
    assert (status, retry_after) == (503, "5")
    assert "Back in a moment" in body
    assert "127.0.0.1:1" not in body
    assert answers["/api/health"][0] == 503


def test_web_processes_can_bound_each_statement():
    result = run_python(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['options'])",
        "shopsmart.settings.base",
        DATABASE_URL="postgres://shop@db.internal:5432/shop",
        DB_STATEMENT_TIMEOUT_MS="10000",
    )
    assert "-c statement_timeout=10000" in result.stdout
