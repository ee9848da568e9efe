from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone
from factory.declarations import LazyFunction, SelfAttribute, SubFactory
from factory.django import DjangoModelFactory

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from recommender.models import (
    BoughtTogether,
    ContentSimilarity,
    ItemSimilarity,
    PipelineKind,
    PipelineRun,
    ProductNeighbour,
    TrendingScore,
)
from recommender.tests.algorithms.stores import NOW as SYNTHETIC_NOW
from recommender.tests.algorithms.stores import PRODUCTS, store
from tracking.models import Event, EventType, Visitor
from tracking.tests.factories import EventFactory, VisitorFactory


class TrendingScoreFactory(DjangoModelFactory[TrendingScore]):
    class Meta:
        model = TrendingScore

    product = SubFactory(ProductFactory)
    category = SelfAttribute("product.category")
    window = TrendingScore.Window.DAYS_7
    score = 1.0
    event_count = 1
    computed_at = LazyFunction(timezone.now)


class ProductNeighbourFactory(DjangoModelFactory[ProductNeighbour]):
    class Meta:
        abstract = True

    product = SubFactory(ProductFactory)
    similar_product = SubFactory(ProductFactory)
    score = 0.5
    computed_at = LazyFunction(timezone.now)


class ItemSimilarityFactory(ProductNeighbourFactory):
    class Meta:
        model = ItemSimilarity

    co_occurrence = 3


class ContentSimilarityFactory(ProductNeighbourFactory):
    class Meta:
        model = ContentSimilarity


class BoughtTogetherFactory(ProductNeighbourFactory):
    class Meta:
        model = BoughtTogether

    co_occurrence = 4


class PipelineRunFactory(DjangoModelFactory[PipelineRun]):
    class Meta:
        model = PipelineRun

    kind = PipelineKind.TRENDING


def synthetic_store_in_the_database(now: datetime) -> tuple[dict[int, Product], dict[int, Visitor]]:
    """The ranker tests' synthetic store (recommender/tests/algorithms/stores.py) as products,
    visitors and purchases ending at `now`; returns the products by synthetic id and the
    visitors."""
    synthetic = store()
    products = {p: ProductFactory.create(name=f"Product {p}") for p in range(1, PRODUCTS + 1)}
    visitors = {v: VisitorFactory.create() for v in np.unique(synthetic.visitor).tolist()}
    Event.objects.bulk_create(
        EventFactory.build(
            visitor=visitors[visitor],
            product=products[product],
            event_type=EventType.PURCHASE,
            occurred_at=now - timedelta(seconds=SYNTHETIC_NOW - timestamp),
        )
        for visitor, product, timestamp in zip(
            synthetic.visitor.tolist(),
            synthetic.product.tolist(),
            synthetic.timestamp.tolist(),
            strict=True,
        )
    )
    return products, visitors
