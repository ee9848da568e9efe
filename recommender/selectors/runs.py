"""Reads of pipeline and evaluation runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Max

from recommender.models import EvaluationRun, PipelineRun, PipelineStatus


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
