from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from recommender.models import PipelineKind, PipelineRun, PipelineStatus, TrendingScore
from recommender.tests.factories import (
    ContentSimilarityFactory,
    ItemSimilarityFactory,
    PipelineRunFactory,
    TrendingScoreFactory,
)

pytestmark = pytest.mark.django_db


def test_one_trending_score_per_product_and_window():
    score = TrendingScoreFactory.create()
    TrendingScoreFactory.create(product=score.product, window=TrendingScore.Window.DAYS_30)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrendingScoreFactory.create(product=score.product, window=TrendingScore.Window.DAYS_7)


def test_unknown_trending_window_is_rejected():
    with pytest.raises(IntegrityError), transaction.atomic():
        TrendingScoreFactory.create(window="1y")


def test_a_product_is_not_similar_to_itself():
    product = ProductFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemSimilarityFactory.create(product=product, similar_product=product)


def test_similarity_pairs_are_unique_per_kind():
    pair = ItemSimilarityFactory.create()
    ContentSimilarityFactory.create(product=pair.product, similar_product=pair.similar_product)
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemSimilarityFactory.create(product=pair.product, similar_product=pair.similar_product)


def test_a_pipeline_cannot_be_queued_twice():
    PipelineRunFactory.create(kind=PipelineKind.SIMILARITY, status=PipelineStatus.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        PipelineRunFactory.create(kind=PipelineKind.SIMILARITY)
    # Other pipelines, and new runs after finished ones, are fine.
    PipelineRunFactory.create(kind=PipelineKind.TRENDING)
    PipelineRun.objects.filter(kind=PipelineKind.SIMILARITY).update(status=PipelineStatus.SUCCEEDED)
    PipelineRunFactory.create(kind=PipelineKind.SIMILARITY)


def test_a_run_cannot_finish_before_it_started():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        PipelineRunFactory.create(
            status=PipelineStatus.FAILED, started_at=now, finished_at=now - timedelta(seconds=1)
        )


def test_duration_of_a_finished_run():
    now = timezone.now()
    run = PipelineRunFactory.create(
        status=PipelineStatus.SUCCEEDED, started_at=now, finished_at=now + timedelta(seconds=90)
    )
    assert run.duration_seconds == 90
    assert PipelineRunFactory.create(kind=PipelineKind.CONTENT).duration_seconds is None
