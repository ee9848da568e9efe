"""Reads of pipeline and evaluation runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max

from recommender.models import EvaluationRun, PipelineKind, PipelineRun, PipelineStatus


def pipeline_last_successes() -> dict[str, datetime]:
    """When each pipeline last finished successfully, by kind (kinds never run are absent):
    the one definition health, metrics and the dashboard read."""
    finished = (
        PipelineRun.objects.filter(status=PipelineStatus.SUCCEEDED, finished_at__isnull=False)
        .values_list("kind")
        .annotate(last=Max("finished_at"))
        .order_by()
    )
    return dict(finished)


def pipeline_run_counts() -> dict[tuple[str, str], int]:
    """How many runs each pipeline has of each status."""
    counted = PipelineRun.objects.values_list("kind", "status").annotate(n=Count("id")).order_by()
    return {(kind, status): n for kind, status, n in counted}


def pipeline_latest_finished() -> dict[str, PipelineRun]:
    """Each pipeline's latest finished run, successful or not (kinds never run are absent)."""
    latest = {}
    for kind in PipelineKind:
        run = (
            PipelineRun.objects.filter(kind=kind, finished_at__isnull=False)
            .order_by("-finished_at")
            .first()
        )
        if run is not None:
            latest[kind.value] = run
    return latest


def evaluation_figures(evaluation: EvaluationRun) -> dict[str, Any]:
    """An evaluation run as plain data: {algorithm: {protocol: {"recall@20": 0.15, ...}}}."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for metric in evaluation.metrics.all():
        name = f"{metric.metric}@{metric.k}" if metric.k else metric.metric
        results.setdefault(metric.algorithm, {}).setdefault(metric.protocol, {})[name] = (
            metric.value
        )
    return {
        "evaluation_run": evaluation.pk,
        "created_at": evaluation.created_at.isoformat(),
        "parameters": evaluation.parameters,
        "visitors_evaluated": evaluation.visitors_evaluated,
        "results": results,
    }
