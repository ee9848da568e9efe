"""The lists serving answers: recommendations, similar, bought together and trending products.

Reads of the stored pipeline results. Recommendations come from the same pure function the
evaluation measures (`recommend()`, called with one visitor and the served neighbours). Every
answer is JSON-ready data, cached under its key family (rec / sim / trending) and invalidated
by generation: pipeline runs invalidate their families, a visitor's events that visitor's
recommendations.
"""

from __future__ import annotations

import time

import numpy as np
from django.conf import settings

from catalog.models import Category, Product
from catalog.selectors import (
    category_with_descendant_ids,
    product_cards,
    product_cards_available,
    products_available,
)
from infrastructure import cache
from recommender.algorithms.tiered import Recommendations, Tier
from recommender.configuration import PURCHASE_HISTORY_LENGTH, RECOMMENDATION_TRENDING_WINDOW
from recommender.metrics import RECOMMENDATION_SECONDS
from recommender.models import BoughtTogether, ContentSimilarity, ItemSimilarity
from recommender.selectors import neighbours_browsable, trending_top, visitor_history
from recommender.serving.contracts import (
    STRATEGY_OF_TIER,
    BoughtTogetherList,
    ReasonType,
    RecommendationList,
    RecommendationRequest,
    RecommendationScenario,
    RecommendationStrategy,
    SimilarList,
    SimilarStrategy,
    TrendingList,
)
from recommender.serving.explanations import (
    bought_before,
    explained,
    item,
    similar_item,
    trending_item,
)
from recommender.serving.inputs import recommendation_inputs, repeats_of


def recommendations(request: RecommendationRequest) -> RecommendationList:
    """The visitor's top k products with the strategy and a reason for each (cached)."""
    started = time.perf_counter()
    answer: RecommendationList = cache.cached(
        cache.RECOMMENDATIONS,
        request.k,
        request.category.pk if request.category else "-",
        int(request.include_interacted),
        request.max_per_category or "-",
        request.scenario.value,
        timeout=settings.CACHE_TTL_RECOMMENDATIONS,
        compute=lambda: _recommendations_compute(request),
        depends_on=(cache.TRENDING, cache.SIMILARITY),
        scope=request.visitor,
    )
    RECOMMENDATION_SECONDS.labels(answer["strategy"]).observe(time.perf_counter() - started)
    return answer


def similar_products(*, product: Product, k: int) -> SimilarList:
    """The product's k nearest neighbours: behavioural, else by content, else its category's
    trending products (cached)."""
    return cache.cached(
        cache.SIMILARITY,
        product.pk,
        k,
        timeout=settings.CACHE_TTL_SIMILAR,
        compute=lambda: _similar_compute(product, k),
        depends_on=(cache.TRENDING,),
    )


def bought_together(*, product: Product, k: int) -> BoughtTogetherList:
    """The k products most often bought in the same orders as this one, that can be bought
    now (cached; empty until someone buys them together)."""
    return cache.cached(
        cache.SIMILARITY,
        "bought_together",
        product.pk,
        k,
        timeout=settings.CACHE_TTL_SIMILAR,
        compute=lambda: _bought_together_compute(product, k),
    )


def trending_products(*, window: str, category: Category | None, k: int) -> TrendingList:
    """The k products trending most in the window, in the whole store or one category
    (with its sub-categories) (cached)."""
    return cache.cached(
        cache.TRENDING,
        window,
        category.pk if category else "-",
        k,
        timeout=settings.CACHE_TTL_TRENDING,
        compute=lambda: _trending_compute(window, category, k),
    )


def _recommendations_compute(request: RecommendationRequest) -> RecommendationList:
    if request.scenario == RecommendationScenario.BUY_AGAIN:
        return _buy_again_compute(request)
    inputs = recommendation_inputs(request)
    # The neighbour lists and the fills held only available products when they were cached,
    # so trust them first and check the products the list shows when their cards are read:
    # if one is no longer available, every candidate is checked and the list chosen again.
    # Nothing unavailable is ever shown. (An unavailable candidate left unshown does not
    # change the personalised items; in a fill it takes a place that, had it been checked,
    # the next trending product would have had, which matters only when a fill runs out.)
    chosen = inputs.recommend(available=None)
    cards, available = product_cards_available(_shown(chosen))
    if not available.issuperset(chosen.product.tolist()):
        chosen = inputs.recommend(available=products_available(among=inputs.candidates.tolist()))
        cards = product_cards(_shown(chosen))
    strategy = (
        STRATEGY_OF_TIER[Tier(int(chosen.strategy[0]))]
        if chosen.strategy[0] >= 0
        else RecommendationStrategy.NONE
    )
    return {
        "visitor": request.visitor,
        "strategy": strategy.value,
        "items": explained(chosen, cards, request.category, inputs),
    }


def _buy_again_compute(request: RecommendationRequest) -> RecommendationList:
    """The visitor's own purchases that can be bought now, best first (the category, if one
    is asked for, with its sub-categories)."""
    history = visitor_history(
        visitor=request.visitor, length=0, purchase_length=PURCHASE_HISTORY_LENGTH
    )
    repeats = repeats_of(history.purchases)
    categories = history.purchased_available
    wanted = (
        set(category_with_descendant_ids(category=request.category))
        if request.category is not None
        else None
    )
    chosen = [
        (product, score)
        for product, score in zip(repeats.product.tolist(), repeats.score.tolist(), strict=True)
        if product in categories and (wanted is None or categories[product] in wanted)
    ][: request.k]
    cards = product_cards(p for p, _ in chosen)
    return {
        "visitor": request.visitor,
        "strategy": (
            RecommendationStrategy.BUY_AGAIN if chosen else RecommendationStrategy.NONE
        ).value,
        "items": [bought_before(cards[product], score) for product, score in chosen],
    }


def _shown(chosen: Recommendations) -> list[int]:
    """The products a list shows: its items and the history products its reasons name."""
    shown: list[int] = np.concatenate(
        [chosen.product, chosen.because[chosen.because >= 0]]
    ).tolist()
    return shown


def _bought_together_compute(product: Product, k: int) -> BoughtTogetherList:
    rows = neighbours_browsable(BoughtTogether, product.pk, k)
    cards = product_cards(row[0] for row in rows)
    items = [
        item(
            cards[p],
            score,
            {"type": ReasonType.BOUGHT_TOGETHER.value, "orders": orders},
            f"Bought together in {orders} orders",
        )
        for p, score, orders in rows
    ]
    return {"product": product.pk, "items": items}


def _similar_compute(product: Product, k: int) -> SimilarList:
    for strategy, model in (
        (SimilarStrategy.ITEM_SIMILARITY, ItemSimilarity),
        (SimilarStrategy.CONTENT_SIMILARITY, ContentSimilarity),
    ):
        rows = neighbours_browsable(model, product.pk, k)
        if rows:
            cards = product_cards(row[0] for row in rows)
            items = [similar_item(cards[p], score, visitors) for p, score, visitors in rows]
            return {"product": product.pk, "strategy": strategy.value, "items": items}
    trending = [
        (p, score)
        for p, score in trending_top(
            [product.category_id], k + 1, window=RECOMMENDATION_TRENDING_WINDOW
        )
        if p != product.pk
    ][:k]
    if not trending:
        return {"product": product.pk, "strategy": SimilarStrategy.NONE.value, "items": []}
    cards = product_cards(p for p, _ in trending)
    return {
        "product": product.pk,
        "strategy": SimilarStrategy.CATEGORY_TRENDING.value,
        "items": [trending_item(cards[p], score, in_category=True) for p, score in trending],
    }


def _trending_compute(window: str, category: Category | None, k: int) -> TrendingList:
    ids = None if category is None else category_with_descendant_ids(category=category)
    rows = trending_top(ids, k, window=window)
    cards = product_cards(p for p, _ in rows)
    return {
        "window": window,
        "category": (
            {"id": category.pk, "name": category.name, "slug": category.slug} if category else None
        ),
        "items": [
            trending_item(cards[p], score, in_category=category is not None) for p, score in rows
        ],
    }
