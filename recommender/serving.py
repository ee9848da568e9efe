"""What the API and the storefront serve: recommendations, similar and trending products.

Reads of the stored pipeline results. Recommendations come from the same pure function the
evaluation measures (`recommend()`, called with one visitor and the served neighbours). Every
answer is JSON-ready data, cached under the seed's key families (rec / sim / trending) and
invalidated by generation: pipeline runs invalidate their families, a visitor's events that
visitor's recommendations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from django.conf import settings
from django.db.models import F, Q, TextChoices, Window
from django.db.models.functions import RowNumber

from catalog.models import Category, Product
from catalog.selectors import (
    CategoryCard,
    ProductCard,
    category_with_descendant_ids,
    product_cards,
)
from recommender import cache
from recommender.algorithms.evaluation import Recommender
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.tiered import (
    HISTORY_LENGTH,
    NEIGHBOURS_PER_EVENT,
    NO_CATEGORY,
    Histories,
    Ranked,
    Recommendations,
    Rules,
    Tier,
    recommend,
)
from recommender.models import (
    ContentSimilarity,
    ItemSimilarity,
    SimilarityKind,
    TrendingScore,
    TrendingWindow,
)
from recommender.selectors import catalog_arrays, stored_neighbours
from tracking.models import EVENT_WEIGHTS, Event, EventType

# Category trending, and global trending for the recommendations: the window the seed uses.
RECOMMENDATION_TRENDING_WINDOW = TrendingWindow.DAYS_7


class RecommendationStrategy(TextChoices):
    PERSONALISED = "personalised", "Personalised (item-to-item from the visitor's history)"
    CATEGORY_TRENDING = "category_trending", "Trending in the visitor's or requested category"
    GLOBAL_TRENDING = "global_trending", "Trending in the whole store"
    NONE = "none", "Nothing to recommend (an empty catalog)"


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


def served_recommender() -> Recommender:
    """The recommender the API serves and the evaluation measures as "tiered"."""
    return Recommender("tiered", content_weight=settings.RECOMMENDER_CONTENT_WEIGHT)


def recommendations(request: RecommendationRequest) -> RecommendationList:
    """The visitor's top k products with the strategy and a reason for each (cached)."""
    key = cache.key(
        cache.RECOMMENDATIONS,
        request.k,
        request.category.pk if request.category else "-",
        int(request.include_interacted),
        request.max_per_category or "-",
        depends_on=(cache.TRENDING, cache.SIMILARITY),
        scope=request.visitor,
    )
    return cache.cached(
        cache.RECOMMENDATIONS,
        key,
        settings.CACHE_TTL_RECOMMENDATIONS,
        lambda: _recommendations_compute(request),
    )


def similar_products(*, product: Product, k: int) -> SimilarList:
    """The product's k nearest neighbours: behavioural, else by content, else its category's
    trending products (cached)."""
    key = cache.key(cache.SIMILARITY, product.pk, k, depends_on=(cache.TRENDING,))
    return cache.cached(
        cache.SIMILARITY, key, settings.CACHE_TTL_SIMILAR, lambda: _similar_compute(product, k)
    )


def trending_products(*, window: str, category: Category | None, k: int) -> TrendingList:
    """The k products trending most in the window, in the whole store or one category
    (with its sub-categories) (cached)."""
    key = cache.key(cache.TRENDING, window, category.pk if category else "-", k)
    return cache.cached(
        cache.TRENDING,
        key,
        settings.CACHE_TTL_TRENDING,
        lambda: _trending_compute(window, category, k),
    )


def _recommendations_compute(request: RecommendationRequest) -> RecommendationList:
    history = list(
        Event.objects.filter(visitor__external_id=request.visitor)
        .order_by("-occurred_at", "-id")
        .values_list("product_id", "event_type", "product__category_id")[:HISTORY_LENGTH]
    )
    history_products = np.array([row[0] for row in history], dtype=np.int64)
    histories = Histories(
        visitor=np.zeros(len(history), dtype=np.int64),
        product=history_products,
        weight=np.array([EVENT_WEIGHTS[EventType(row[1])] for row in history], dtype=np.float64),
    )
    neighbours = Neighbours.concatenate([])
    if len(history):
        neighbours = served_recommender().neighbours(
            *(
                stored_neighbours(
                    kind, per_product=NEIGHBOURS_PER_EVENT, products=np.unique(history_products)
                )
                for kind in (SimilarityKind.BEHAVIOURAL, SimilarityKind.CONTENT)
            )
        )
    fill_length = 3 * request.k + 20  # what recommend() draws from each trending tier at most
    if request.category is not None:
        in_category = category_with_descendant_ids(category=request.category)
        category_rows = [
            (request.category.pk, p, score) for p, score in _trending_top(in_category, fill_length)
        ]
    else:
        category_rows = _trending_top_per_category({row[2] for row in history}, fill_length)
    category_trending = _ranked(category_rows)
    global_trending = _ranked((0, p, score) for p, score in _trending_top(None, fill_length))
    catalog = catalog_arrays(
        products=np.concatenate(
            [
                history_products,
                neighbours.neighbour,
                global_trending.product,
                category_trending.product,
            ]
        )
    )
    chosen = recommend(
        histories=histories,
        visitor_count=1,
        neighbours=neighbours,
        catalog=catalog,
        category_trending=category_trending,
        global_trending=global_trending,
        rules=Rules(
            k=request.k,
            max_per_category=request.max_per_category,
            include_interacted=request.include_interacted,
        ),
        requested_category=np.array(
            [request.category.pk if request.category else NO_CATEGORY], dtype=np.int64
        ),
    )
    strategy = (
        STRATEGY_OF_TIER[Tier(int(chosen.strategy[0]))]
        if chosen.strategy[0] >= 0
        else RecommendationStrategy.NONE
    )
    return {
        "visitor": request.visitor,
        "strategy": strategy.value,
        "items": _explained(chosen, request.category),
    }


def _explained(chosen: Recommendations, requested: Category | None) -> list[Item]:
    anchors = chosen.because[chosen.because >= 0]
    cards = product_cards(np.concatenate([chosen.product, anchors]).tolist())
    items: list[Item] = []
    for product, score, tier, because in zip(
        chosen.product.tolist(),
        chosen.score.tolist(),
        chosen.tier.tolist(),
        chosen.because,
        strict=True,
    ):
        card = cards[product]
        if tier == Tier.PERSONALISED:
            sources = [int(source) for source in because if source >= 0]
            names = [cards[source]["name"] for source in sources if source in cards]
            reason: Reason = {"type": ReasonType.SIMILAR_TO.value, "products": sources}
            explanation = "Because you viewed " + " and ".join(names)
        elif tier == Tier.CATEGORY_TRENDING:
            category_id, category_name = (
                (requested.pk, requested.name)
                if requested
                else (card["category"]["id"], card["category"]["name"])
            )
            reason = {"type": ReasonType.TRENDING_IN_CATEGORY.value, "category": category_id}
            explanation = f"Trending in {category_name}"
        else:
            reason = {"type": ReasonType.POPULAR.value}
            explanation = "Popular right now"
        items.append(_item(card, score, reason, explanation))
    return items


def _similar_compute(product: Product, k: int) -> SimilarList:
    for strategy, model in (
        (SimilarStrategy.ITEM_SIMILARITY, ItemSimilarity),
        (SimilarStrategy.CONTENT_SIMILARITY, ContentSimilarity),
    ):
        rows = list(
            model.objects.filter(product_id=product.pk)
            .filter(_browsable("similar_product"))
            .order_by("-score", "similar_product_id")
            .values_list("similar_product_id", "score", "co_occurrence")[:k]
        )
        if rows:
            cards = product_cards(row[0] for row in rows)
            items = [_similar_item(cards[p], score, visitors) for p, score, visitors in rows]
            return {"product": product.pk, "strategy": strategy.value, "items": items}
    trending = [
        (p, score) for p, score in _trending_top([product.category_id], k + 1) if p != product.pk
    ][:k]
    if not trending:
        return {"product": product.pk, "strategy": SimilarStrategy.NONE.value, "items": []}
    cards = product_cards(p for p, _ in trending)
    return {
        "product": product.pk,
        "strategy": SimilarStrategy.CATEGORY_TRENDING.value,
        "items": [_trending_item(cards[p], score, in_category=True) for p, score in trending],
    }


def _similar_item(card: ProductCard, score: float, visitors: int) -> Item:
    if visitors:
        reason: Reason = {"type": ReasonType.INTERACTED_TOGETHER.value, "visitors": visitors}
        return _item(card, score, reason, f"{visitors} shoppers who looked at this also did")
    return _item(card, score, {"type": ReasonType.DESCRIBED_ALIKE.value}, "Described alike")


def _trending_compute(window: str, category: Category | None, k: int) -> TrendingList:
    ids = None if category is None else category_with_descendant_ids(category=category)
    rows = _trending_top(ids, k, window=window)
    cards = product_cards(p for p, _ in rows)
    return {
        "window": window,
        "category": (
            {"id": category.pk, "name": category.name, "slug": category.slug} if category else None
        ),
        "items": [
            _trending_item(cards[p], score, in_category=category is not None) for p, score in rows
        ],
    }


def _trending_item(card: ProductCard, score: float, *, in_category: bool) -> Item:
    if in_category:
        category = card["category"]
        reason: Reason = {
            "type": ReasonType.TRENDING_IN_CATEGORY.value,
            "category": category["id"],
        }
        return _item(card, score, reason, f"Trending in {category['name']}")
    return _item(card, score, {"type": ReasonType.POPULAR.value}, "Popular right now")


def _item(card: ProductCard, score: float, reason: Reason, explanation: str) -> Item:
    return {"product": card, "score": round(score, 6), "reason": reason, "explanation": explanation}


def _browsable(relation: str) -> Q:
    return Q(**{f"{relation}__is_active": True, f"{relation}__stock__gt": 0})


def _trending_top(
    category_ids: list[int] | None,
    limit: int,
    *,
    window: str = RECOMMENDATION_TRENDING_WINDOW,
) -> list[tuple[int, float]]:
    """(product, score) of the `limit` best available trending products of the categories
    (None: the whole store), best first."""
    scores = TrendingScore.objects.filter(_browsable("product"), window=window)
    if category_ids is not None:
        scores = scores.filter(category_id__in=category_ids)
    best = scores.order_by("-score", "product_id").values_list("product_id", "score")
    return list(best[:limit])


def _trending_top_per_category(
    category_ids: Iterable[int], limit: int
) -> list[tuple[int, int, float]]:
    """(category, product, score) of the `limit` best of each category, in one query."""
    best = (
        TrendingScore.objects.filter(
            _browsable("product"),
            window=RECOMMENDATION_TRENDING_WINDOW,
            category_id__in=list(category_ids),
        )
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("category_id"),
                order_by=(F("score").desc(), F("product_id").asc()),
            )
        )
        .filter(rank__lte=limit)
        .values_list("category_id", "product_id", "score")
    )
    return list(best)


def _ranked(rows: Iterable[tuple[int, int, float]]) -> Ranked:
    listed = list(rows)
    if not listed:
        return Ranked.empty()
    group, product, score = (np.array(column) for column in zip(*listed, strict=True))
    return Ranked.of(
        product.astype(np.int64), score.astype(np.float64), group=group.astype(np.int64)
    )
