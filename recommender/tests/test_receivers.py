"""What the recommender does when the catalog and the tracking app tell it something."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from catalog.importers import catalog_import
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from infrastructure import cache
from recommender import pipelines
from recommender.models import (
    BoughtTogether,
    ItemSimilarity,
    LearnedRecommendation,
    PipelineRun,
    SessionIndexSnapshot,
    TrendingScore,
)
from recommender.tests.factories import (
    ItemSimilarityFactory,
    PipelineRunFactory,
    TrendingScoreFactory,
)
from tracking.demo.loader import store_flush
from tracking.importers.retailrocket import retailrocket_import
from tracking.models import EventType
from tracking.services import storefront_event_record
from tracking.tests.factories import VisitorFactory

pytestmark = pytest.mark.django_db

CATALOG_SAMPLE = Path(__file__).parents[2] / "catalog" / "tests" / "fixtures" / "catalog-sample.csv"
EVENTS_SAMPLE = (
    Path(__file__).parents[2] / "tracking" / "tests" / "fixtures" / "retailrocket-sample.csv"
)


def _generations() -> list[int]:
    return [cache.generation(family) for family in cache.FAMILIES]


def test_a_catalog_import_makes_every_cached_list_stale(django_capture_on_commit_callbacks):
    before = _generations()
    with django_capture_on_commit_callbacks(execute=True):
        catalog_import(path=CATALOG_SAMPLE)
    assert all(after > old for after, old in zip(_generations(), before, strict=True))


def test_an_event_import_makes_every_cached_list_stale(django_capture_on_commit_callbacks):
    ProductFactory.create(external_id="355908")
    before = _generations()
    with django_capture_on_commit_callbacks(execute=True):
        retailrocket_import(path=EVENTS_SAMPLE)
    assert all(after > old for after, old in zip(_generations(), before, strict=True))


def test_a_visitors_event_makes_only_their_recommendations_stale(
    django_capture_on_commit_callbacks,
):
    mug = ProductFactory.create()
    families = _generations()
    with django_capture_on_commit_callbacks(execute=True):
        storefront_event_record(
            visitor="ann", product_id=mug.pk, event_type=EventType.VIEW, session_id="s"
        )
    assert _generations() == families
    ann = cache.cached(cache.RECOMMENDATIONS, "x", timeout=60, compute=lambda: 1, scope="ann")
    with django_capture_on_commit_callbacks(execute=True):
        storefront_event_record(
            visitor="ann", product_id=mug.pk, event_type=EventType.VIEW, session_id="s"
        )
    again = cache.cached(cache.RECOMMENDATIONS, "x", timeout=60, compute=lambda: 2, scope="ann")
    assert (ann, again) == (1, 2)


# TRUNCATE refuses tables with foreign-key checks still pending in the test's own transaction.
@pytest.mark.django_db(transaction=True)
def test_flushing_the_store_deletes_what_the_pipelines_computed():
    TrendingScoreFactory.create()
    ItemSimilarityFactory.create()
    PipelineRunFactory.create()
    mug, teapot = ProductFactory.create(), ProductFactory.create()
    BoughtTogether.objects.create(
        product=mug, similar_product=teapot, score=1.0, co_occurrence=2, computed_at=timezone.now()
    )
    LearnedRecommendation.objects.create(
        visitor=VisitorFactory.create(), product=mug, score=0.5, computed_at=timezone.now()
    )
    pipelines.sessions_compute()
    store_flush()
    for model in (TrendingScore, ItemSimilarity, PipelineRun, BoughtTogether,
                  LearnedRecommendation, SessionIndexSnapshot, Product):  # fmt: skip
        assert not model.objects.exists(), model.__name__
