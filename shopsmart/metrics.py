"""Prometheus metrics: what the processes measure, and what the shared stores already know.

Measured in each web process: request latency by view and status, recommendation latency by
strategy. Read from the shared stores at scrape time, so every process reports the same: cache
hits and misses per key family (counted in Redis), each pipeline's runs by status, its last
run's duration and its last success (from PipelineRun).

With several worker processes (gunicorn), set PROMETHEUS_MULTIPROC_DIR to an empty directory
shared by them: /metrics then sums the histograms of every process.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from dashboard.permissions import VIEW_PIPELINES
from infrastructure import cache
from recommender.selectors import (
    pipeline_last_successes,
    pipeline_latest_finished,
    pipeline_run_counts,
)

REQUEST_SECONDS = Histogram(
    "shopsmart_request_seconds",
    "Time to answer an HTTP request, by view and status code.",
    ["method", "view", "status"],
)


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        # The view's name, never the path: paths hold ids, and labels must stay few.
        view = match.view_name if match is not None else "unmatched"
        REQUEST_SECONDS.labels(request.method, view, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


class StoreCollector(Collector):
    """Figures the database and the cache hold for every process."""

    def describe(self) -> list[CounterMetricFamily | GaugeMetricFamily]:
        # Nothing to declare up front: registering must not query the database.
        return []

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        lookups = CounterMetricFamily(
            "shopsmart_cache_lookups",
            "Cached-answer lookups per key family and result, since the counters were created.",
            labels=["family", "result"],
        )
        for family, counts in cache.statistics().items():
            lookups.add_metric([family, "hit"], counts["hits"])
            lookups.add_metric([family, "miss"], counts["misses"])
        yield lookups

        runs = CounterMetricFamily(
            "shopsmart_pipeline_runs",
            "Pipeline runs by kind and status.",
            labels=["kind", "status"],
        )
        for (kind, status), n in pipeline_run_counts().items():
            runs.add_metric([kind, status], n)
        yield runs

        last_success = GaugeMetricFamily(
            "shopsmart_pipeline_last_success_timestamp_seconds",
            "When each pipeline's results were last replaced.",
            labels=["kind"],
        )
        for kind, last in pipeline_last_successes().items():
            last_success.add_metric([kind], last.timestamp())
        yield last_success

        duration = GaugeMetricFamily(
            "shopsmart_pipeline_last_duration_seconds",
            "How long each pipeline's latest finished run took.",
            labels=["kind", "status"],
        )
        for kind, run in pipeline_latest_finished().items():
            if run.duration_seconds is not None:
                duration.add_metric([kind, run.status], run.duration_seconds)
        yield duration


def metrics_text() -> tuple[bytes, str]:
    """The exposition of every metric, and its content type."""
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(StoreCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


REGISTRY.register(StoreCollector())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics for Prometheus: open where METRICS_PUBLIC (development); in production only
    to `Authorization: Bearer <METRICS_TOKEN>` or the session of staff who may see the
    pipelines (the Operator role)."""
    if not _may_read_metrics(request):
        return HttpResponse("Metrics are not public.", status=403, content_type="text/plain")
    body, content_type = metrics_text()
    return HttpResponse(body, content_type=content_type)


def _may_read_metrics(request: HttpRequest) -> bool:
    if settings.METRICS_PUBLIC or (request.user.is_staff and request.user.has_perm(VIEW_PIPELINES)):
        return True
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
