"""The evaluation pipeline: every contender on a temporal split, figures stored."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommender.algorithms.behavioural import SimilarityMethod
from recommender.algorithms.evaluation import (
    DEFAULT_KS,
    EvaluationConfig,
    EvaluationResult,
    Recommender,
    evaluate,
)
from recommender.algorithms.tiered import NEIGHBOURS_PER_EVENT
from recommender.configuration import served_recommender
from recommender.models import (
    EvaluationMetric,
    EvaluationRun,
    PipelineKind,
    PipelineRun,
    SimilarityKind,
    Surface,
)
from recommender.pipelines.runs import ProgressCallback, recorded_run
from recommender.pipelines.similarity import SIMILARITY_HISTORY_DAYS
from recommender.selectors import catalog_arrays, event_arrays, stored_neighbours
from recommender.selectors.merchandising import list_rules

EVALUATION_TEST_DAYS = 7


def evaluation_contenders() -> tuple[Recommender, ...]:
    """The served recommender, the blends it could serve instead, and the baselines."""
    served = served_recommender()
    blends = sorted({0.0, 0.2, 0.5} - {served.content_weight})
    return (
        served,
        *(Recommender(f"tiered_content_{weight:g}", content_weight=weight) for weight in blends),
        Recommender(
            "tiered_buy_again",
            content_weight=served.content_weight,
            include_interacted=True,
            repeat_weight=settings.RECOMMENDER_REPEAT_WEIGHT,
        ),
        Recommender(
            "item_knn",
            content=False,
            category_fill=False,
            global_fill=False,
            similarity=SimilarityMethod.COSINE,
        ),
        Recommender("content", behavioural=False, category_fill=False, global_fill=False),
        Recommender("popularity", behavioural=False, content=False, category_fill=False),
    )


def evaluation_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    test_days: float = EVALUATION_TEST_DAYS,
    ks: tuple[int, ...] = DEFAULT_KS,
    progress: ProgressCallback | None = None,
) -> EvaluationRun:
    """Evaluate every contender on a temporal split ending now and store the figures."""
    now = now or timezone.now()
    # The recommended list's rules as they hold now, without a category's page.
    rules = list_rules(Surface.RECOMMENDED, at=now)
    config = EvaluationConfig(
        test_days=test_days,
        ks=ks,
        similarity_days=SIMILARITY_HISTORY_DAYS,
        max_per_category=rules.defaults.max_per_category,
        recommenders=evaluation_contenders(),
        similarity=SimilarityMethod(settings.RECOMMENDER_SIMILARITY_METHOD),
        l2=settings.RECOMMENDER_EASE_L2,
        half_life_days=settings.RECOMMENDER_REPEAT_HALF_LIFE_DAYS,
        repeat_weight=settings.RECOMMENDER_REPEAT_WEIGHT,
    )
    parameters = {
        "now": now.isoformat(),
        "test_days": test_days,
        "ks": list(ks),
        "similarity_days": SIMILARITY_HISTORY_DAYS,
        "served_content_weight": settings.RECOMMENDER_CONTENT_WEIGHT,
        "similarity": settings.RECOMMENDER_SIMILARITY_METHOD,
        "l2": settings.RECOMMENDER_EASE_L2,
        "repeat_weight": settings.RECOMMENDER_REPEAT_WEIGHT,
        "repeat_half_life_days": settings.RECOMMENDER_REPEAT_HALF_LIFE_DAYS,
        "max_per_category": rules.defaults.max_per_category,
        "merchandising_rules": list(rules.rule_ids),
        "preferred_category_boost": rules.merchandising.preferred_boost,
        "max_visitors": config.max_visitors,
        "recommenders": [contender.name for contender in config.recommenders],
        "live_weight": config.recommenders[0].live_weight,
        "session": dataclasses.asdict(config.recommenders[0].session),
        "live_max_cases": config.live_max_cases,
    }
    with recorded_run(PipelineKind.EVALUATION, parameters, queued_run) as recorder:
        with recorder.phase("read"):
            events = event_arrays(
                since=now - timedelta(days=SIMILARITY_HISTORY_DAYS + test_days), until=now
            )
            catalog = catalog_arrays()
            content = stored_neighbours(SimilarityKind.CONTENT, per_product=NEIGHBOURS_PER_EVENT)
            merchandising = rules.merchandising
        with recorder.phase("evaluate"):
            result = evaluate(
                events,
                catalog=catalog,
                content=content,
                now=now.timestamp(),
                config=dataclasses.replace(
                    config, merchandising=merchandising if merchandising.active else None
                ),
                progress=progress,
            )
        with recorder.phase("write"):
            evaluation = _evaluation_store(recorder.run, parameters, result)
        recorder.statistics |= {"events_read": len(events), **_evaluated(evaluation, result)}
    return evaluation


def evaluation_record(*, parameters: dict[str, Any], result: EvaluationResult) -> EvaluationRun:
    """Store an evaluation computed elsewhere (the real-data benchmark) as an evaluation run,
    so the dashboard and the admin show it beside the weekly ones."""
    with recorded_run(PipelineKind.EVALUATION, parameters, None) as recorder:
        evaluation = _evaluation_store(recorder.run, parameters, result)
        recorder.statistics |= _evaluated(evaluation, result)
    return evaluation


def _evaluated(evaluation: EvaluationRun, result: EvaluationResult) -> dict[str, int]:
    """An evaluation's figures for its pipeline run's statistics."""
    return {
        "train_events": result.train_events,
        "test_events": result.test_events,
        "visitors_eligible": result.eligible_visitors,
        "live_cases_eligible": result.live_cases,
        "visitors_evaluated": evaluation.visitors_evaluated,
        "evaluation_run": evaluation.pk,
    }


@transaction.atomic
def _evaluation_store(
    run: PipelineRun, parameters: dict[str, Any], result: EvaluationResult
) -> EvaluationRun:
    split_at = datetime.fromtimestamp(result.split_at, tz=UTC)
    evaluation = EvaluationRun.objects.create(
        pipeline_run=run,
        parameters=parameters | {"split_at": split_at.isoformat()},
        visitors_evaluated=max(
            (
                metrics.visitors
                for protocols in result.results.values()
                for metrics in protocols.values()
            ),
            default=0,
        ),
    )
    rows = []
    for algorithm, protocols in result.results.items():
        for protocol, metrics in protocols.items():
            figures = {
                **metrics.figures,
                ("coverage", 0): metrics.coverage,
                ("visitors", 0): float(metrics.visitors),
            }
            rows += [
                EvaluationMetric(
                    run=evaluation,
                    algorithm=algorithm,
                    protocol=protocol,
                    metric=metric,
                    k=k,
                    value=value,
                )
                for (metric, k), value in figures.items()
            ]
    EvaluationMetric.objects.bulk_create(rows)
    return evaluation
