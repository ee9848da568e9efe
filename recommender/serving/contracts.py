"""The vocabulary of what serving answers: strategies, reasons, the shape of each list and
of a recommendation request. The API's serializers and the pages read these names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from django.db.models import TextChoices

from catalog.models import Category
from catalog.selectors import CategoryCard, ProductCard
from recommender.algorithms.tiered import Tier
from recommender.variants import SERVED


class RecommendationStrategy(TextChoices):
    PERSONALISED = (
        "personalised",
        (
            "Personalised (the learned ranking of a returning buyer, else item-to-item from the "
            "visitor's history)"
        ),
    )
    CATEGORY_TRENDING = "category_trending", "Trending in the visitor's or requested category"
    GLOBAL_TRENDING = "global_trending", "Trending in the whole store"
    BUY_AGAIN = "buy_again", "The visitor's repeat purchases (scenario=buy_again)"
    NONE = "none", "Nothing to recommend (an empty catalog, or no purchases to buy again)"


class RecommendationScenario(TextChoices):
    RECOMMENDED = "recommended", "Recommended for the visitor (the tiered strategy)"
    BUY_AGAIN = "buy_again", "The visitor's own purchases, by how often and how recently"


class SimilarStrategy(TextChoices):
    ITEM_SIMILARITY = "item_similarity", "Products the same shoppers interacted with"
    CONTENT_SIMILARITY = "content_similarity", "Products described alike"
    CATEGORY_TRENDING = "category_trending", "Trending in the product's category"
    NONE = "none", "Nothing similar found"


class ReasonType(TextChoices):
    SIMILAR_TO = "similar_to", "Similar to products in the visitor's history"
    TRENDING_IN_CATEGORY = "trending_in_category", "Trending in a category"
    POPULAR = "popular", "Trending in the whole store"
    INTERACTED_TOGETHER = "interacted_together", "Shoppers interacted with both"
    DESCRIBED_ALIKE = "described_alike", "Described alike"
    BOUGHT_TOGETHER = "bought_together", "Bought in the same orders"
    BOUGHT_BEFORE = "bought_before", "The visitor bought it before"
    PICKED_FOR_YOU = "picked_for_you", "The learned ranker picked it from the visitor's orders"
    GOES_WITH_BASKET = "goes_with_basket", "Goes with products in the visitor's basket now"
    JUST_VIEWED = "just_viewed", "Follows products the visitor viewed in this session"
    FEATURED = "featured", "Pinned to its place by the shop (a merchandising rule)"


STRATEGY_OF_TIER = {
    Tier.PERSONALISED: RecommendationStrategy.PERSONALISED,
    Tier.CATEGORY_TRENDING: RecommendationStrategy.CATEGORY_TRENDING,
    Tier.GLOBAL_TRENDING: RecommendationStrategy.GLOBAL_TRENDING,
}


class Reason(TypedDict, total=False):
    type: str
    products: list[int]
    category: int
    visitors: int
    orders: int


class Item(TypedDict):
    product: ProductCard
    score: float
    reason: Reason
    explanation: str


class RecommendationList(TypedDict):
    visitor: str
    strategy: str
    items: list[Item]


class SimilarList(TypedDict):
    product: int
    strategy: str
    items: list[Item]


class BoughtTogetherList(TypedDict):
    product: int
    items: list[Item]


class TrendingList(TypedDict):
    window: str
    category: CategoryCard | None
    items: list[Item]


@dataclass(frozen=True)
class RecommendationRequest:
    visitor: str
    k: int = 10
    category: Category | None = None
    include_interacted: bool = False
    max_per_category: int | None = None
    scenario: RecommendationScenario = RecommendationScenario.RECOMMENDED
    # The variant of the served list (recommender.variants), as an experiment assigns it.
    configuration: str = SERVED
