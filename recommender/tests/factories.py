from __future__ import annotations

from django.utils import timezone
from factory.declarations import LazyFunction, SelfAttribute, SubFactory
from factory.django import DjangoModelFactory

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
