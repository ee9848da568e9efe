"""The lists serving answers: recommendations, similar, bought together and trending products.

Reads of the stored pipeline results. Recommendations come from the same pure function the
evaluation measures (`recommend()`, called with one visitor and the served neighbours). Every
answer is JSON-ready data, cached under its key family (rec / sim / trending) and invalidated
by generation: pipeline runs invalidate their families, a visitor's events that visitor's
recommendations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
from django.conf import settings

from catalog.models import Category, Product
from catalog.selectors import (
    category_with_descendant_ids,
    product_cards,
    product_cards_available,
    products_available_categories,
)
from infrastructure import cache
from recommender.algorithms.merchandising import RuleKind, merchandise
from recommender.algorithms.tiered import Catalog, Ranked, Tier
from recommender.configuration import PURCHASE_HISTORY_LENGTH, RECOMMENDATION_TRENDING_WINDOW
from recommender.experiments.assignment import Assignment, assignment
from recommender.metrics import RECOMMENDATION_SECONDS
from recommender.models import BoughtTogether, ContentSimilarity, ItemSimilarity, Surface
from recommender.selectors import neighbours_browsable, trending_top, visitor_history
from recommender.selectors.merchandising import ListRules, list_rules
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
    featured,
    item,
    similar_item,
    trending_item,
)
from recommender.serving.inputs import recommendation_inputs, repeats_of

T = TypeVar("T")
Row = TypeVar("Row", bound=tuple[Any, ...])

# Every list depends on the merchandising rules; a rule's start or end expires it.
MERCHANDISED = (cache.MERCHANDISING,)


def _expired(stored: tuple[Any, float]) -> bool:
    return stored[1] <= time.time()


def _merchandised_cached(
    family: str,
    *parts: object,
    timeout: int,
    compute: Any,
    depends_on: Sequence[str] = (),
    scope: object = None,
) -> Any:
    """cached() for a list computed with the merchandising rules: `compute` answers the list
    and the moment its rules stop holding as they did."""
    answer, _ = cache.cached(
        family,
        *parts,
        timeout=timeout,
        compute=compute,
        depends_on=(*depends_on, *MERCHANDISED),
        scope=scope,
        stale=_expired,
    )
    return answer


def recommendations(request: RecommendationRequest) -> RecommendationList:
    """The visitor's top k products with the strategy and a reason for each (cached), in the
    request's configuration."""
    return _recommendations_cached(request, assign=False)[0]


def recommendations_assigned(
    request: RecommendationRequest,
) -> tuple[RecommendationList, Assignment | None]:
    """The visitor's list in the variant the experiment running on it assigns them (if one
    runs), and that assignment."""
    return _recommendations_cached(
        request, assign=request.scenario == RecommendationScenario.RECOMMENDED
    )


def _recommendations_cached(
    request: RecommendationRequest, *, assign: bool
) -> tuple[RecommendationList, Assignment | None]:
    """The list (and the visitor's assignment, with `assign`), cached together: the family
    then depends on the running experiments, so a hit needs no lookup of its own for them
    (one cache round trip), and a miss reads them from the worker's copy kept under the
    generations the lookup has just read."""

    def compute() -> tuple[Any, float]:
        assigned = assignment(Surface.RECOMMENDED, request.visitor) if assign else None
        served = replace(request, configuration=assigned.configuration) if assigned else request
        answer, valid_until = _valid(
            list_rules(surface_of(served), category=served.category),
            lambda rules: recommendations_compute(served, rules),
        )
        return (answer, assigned), valid_until

    started = time.perf_counter()
    answer, assigned = _merchandised_cached(
        cache.RECOMMENDATIONS,
        request.k,
        request.category.pk if request.category else "-",
        int(request.include_interacted),
        request.max_per_category or "-",
        request.scenario.value,
        request.configuration,
        "assigned" if assign else "-",
        timeout=settings.CACHE_TTL_RECOMMENDATIONS,
        compute=compute,
        depends_on=(cache.TRENDING, cache.SIMILARITY, *((cache.EXPERIMENTS,) if assign else ())),
        scope=request.visitor,
    )
    RECOMMENDATION_SECONDS.labels(answer["strategy"]).observe(time.perf_counter() - started)
    return answer, assigned


def similar_products(*, product: Product, k: int) -> SimilarList:
    """The product's k nearest neighbours: behavioural, else by content, else its category's
    trending products (cached)."""
    answer: SimilarList = _merchandised_cached(
        cache.SIMILARITY,
        product.pk,
        k,
        timeout=settings.CACHE_TTL_SIMILAR,
        compute=lambda: _valid(
            list_rules(Surface.SIMILAR, product=product),
            lambda rules: similar_compute(product, k, rules),
        ),
        depends_on=(cache.TRENDING,),
    )
    return answer


def bought_together(*, product: Product, k: int) -> BoughtTogetherList:
    """The k products most often bought in the same orders as this one, that can be bought
    now (cached; empty until someone buys them together)."""
    answer: BoughtTogetherList = _merchandised_cached(
        cache.SIMILARITY,
        "bought_together",
        product.pk,
        k,
        timeout=settings.CACHE_TTL_SIMILAR,
        compute=lambda: _valid(
            list_rules(Surface.BOUGHT_TOGETHER, product=product),
            lambda rules: bought_together_compute(product, k, rules),
        ),
    )
    return answer


def trending_products(*, window: str, category: Category | None, k: int) -> TrendingList:
    """The k products trending most in the window, in the whole store or one category
    (with its sub-categories) (cached)."""
    answer: TrendingList = _merchandised_cached(
        cache.TRENDING,
        window,
        category.pk if category else "-",
        k,
        timeout=settings.CACHE_TTL_TRENDING,
        compute=lambda: _valid(
            list_rules(Surface.TRENDING, category=category),
            lambda rules: trending_compute(window, category, k, rules),
        ),
    )
    return answer


def surface_of(request: RecommendationRequest) -> Surface:
    if request.scenario == RecommendationScenario.BUY_AGAIN:
        return Surface.BUY_AGAIN
    return Surface.RECOMMENDED


def _valid(rules: ListRules, compute: Callable[[ListRules], T]) -> tuple[T, float]:
    """The list computed under the rules, and until when they hold as they did."""
    return compute(rules), rules.valid_until


def recommendations_compute(request: RecommendationRequest, rules: ListRules) -> RecommendationList:
    """The list under the given rules (not cached; the cached one is recommendations())."""
    if request.scenario == RecommendationScenario.BUY_AGAIN:
        return _buy_again_compute(request, rules)
    inputs = recommendation_inputs(request, rules)
    # Every candidate's card and availability: the history, learned list and repeats are read
    # as they are, and a cached neighbour list or fill may hold a product sold out since. The
    # worker keeps the cards under the catalog's generation (the database is read only for
    # those not kept yet), so nothing unavailable is chosen and one pass suffices. The shown
    # products, and the history products their reasons name, are all candidates.
    cards, available = product_cards_available(inputs.candidates.tolist())
    chosen = inputs.recommend(available=available)
    strategy = (
        STRATEGY_OF_TIER[Tier(int(chosen.strategy[0]))]
        if chosen.strategy[0] >= 0
        else RecommendationStrategy.NONE
    )
    answer: RecommendationList = {
        "visitor": request.visitor,
        "strategy": strategy.value,
        "items": explained(chosen, cards, request.category, inputs),
    }
    return answer


def merchandised_rows(rows: list[Row], rules: ListRules, k: int) -> list[Row | int]:
    """The first k of a list's rows ((product, score, ...), best first) with its rules applied:
    each kept row, or the id of a product pinned in its place."""
    if not rules.merchandising.active:
        return list(rows[:k])
    pins = [rule.product for rule in rules.merchandising.rules if rule.kind == RuleKind.PIN]
    categories = products_available_categories(
        among=[int(row[0]) for row in rows] + [p for p in pins if p is not None]
    )
    # A row whose product stopped being available since it was read is not shown.
    rows = [row for row in rows if int(row[0]) in categories]
    ids = [int(row[0]) for row in rows]
    known = np.array(sorted(categories), dtype=np.int64)
    done = merchandise(
        Ranked(
            group=np.zeros(len(ids), dtype=np.int64),
            product=np.array(ids, dtype=np.int64),
            score=np.array([float(row[1]) for row in rows], dtype=np.float64),
        ),
        groups=np.zeros(1, dtype=np.int64),
        catalog=Catalog(
            product=known,
            category=np.array([categories[p] for p in known.tolist()], dtype=np.int64),
            available=np.ones(len(known), dtype=np.bool_),
        ),
        merchandising=rules.merchandising,
    )
    return [
        rows[source] if source >= 0 else product
        for product, source in zip(done.product[:k].tolist(), done.source[:k].tolist(), strict=True)
    ]


def _depth(rules: ListRules, k: int) -> int:
    """How many rows to read for a list of k: more when rules may hide or move some away."""
    return k if not rules.merchandising.active else 2 * k + 10


def _buy_again_compute(request: RecommendationRequest, rules: ListRules) -> RecommendationList:
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
    chosen = merchandised_rows(
        [
            (product, score)
            for product, score in zip(repeats.product.tolist(), repeats.score.tolist(), strict=True)
            if product in categories and (wanted is None or categories[product] in wanted)
        ],
        rules,
        request.k,
    )
    cards = product_cards(_ids(chosen))
    return {
        "visitor": request.visitor,
        "strategy": (
            RecommendationStrategy.BUY_AGAIN if chosen else RecommendationStrategy.NONE
        ).value,
        "items": [
            featured(cards[row]) if isinstance(row, int) else bought_before(cards[row[0]], row[1])
            for row in chosen
        ],
    }


def _ids(rows: Sequence[tuple[Any, ...] | int]) -> list[int]:
    return [row if isinstance(row, int) else int(row[0]) for row in rows]


def bought_together_compute(product: Product, k: int, rules: ListRules) -> BoughtTogetherList:
    rows = merchandised_rows(
        neighbours_browsable(BoughtTogether, product.pk, _depth(rules, k)), rules, k
    )
    cards = product_cards(_ids(rows))
    items = [
        featured(cards[row])
        if isinstance(row, int)
        else item(
            cards[row[0]],
            row[1],
            {"type": ReasonType.BOUGHT_TOGETHER.value, "orders": row[2]},
            f"Bought together in {row[2]} orders",
        )
        for row in rows
    ]
    return {"product": product.pk, "items": items}


def similar_compute(product: Product, k: int, rules: ListRules) -> SimilarList:
    depth = _depth(rules, k)
    for strategy, model in (
        (SimilarStrategy.ITEM_SIMILARITY, ItemSimilarity),
        (SimilarStrategy.CONTENT_SIMILARITY, ContentSimilarity),
    ):
        stored = neighbours_browsable(model, product.pk, depth)
        if stored:
            rows = merchandised_rows(stored, rules, k)
            cards = product_cards(_ids(rows))
            items = [
                featured(cards[row])
                if isinstance(row, int)
                else similar_item(cards[row[0]], row[1], row[2])
                for row in rows
            ]
            answer: SimilarList = {
                "product": product.pk,
                "strategy": strategy.value,
                "items": items,
            }
            return answer
    trending = merchandised_rows(
        [
            (p, score)
            for p, score in trending_top(
                [product.category_id], depth + 1, window=RECOMMENDATION_TRENDING_WINDOW
            )
            if p != product.pk
        ],
        rules,
        k,
    )
    trending = [row for row in trending if row != product.pk]
    if not trending:
        nothing: SimilarList = {
            "product": product.pk,
            "strategy": SimilarStrategy.NONE.value,
            "items": [],
        }
        return nothing
    cards = product_cards(_ids(trending))
    answer = {
        "product": product.pk,
        "strategy": SimilarStrategy.CATEGORY_TRENDING.value,
        "items": [
            featured(cards[row])
            if isinstance(row, int)
            else trending_item(cards[row[0]], row[1], in_category=True)
            for row in trending
        ],
    }
    return answer


def trending_compute(
    window: str, category: Category | None, k: int, rules: ListRules
) -> TrendingList:
    ids = None if category is None else category_with_descendant_ids(category=category)
    rows = merchandised_rows(trending_top(ids, _depth(rules, k), window=window), rules, k)
    cards = product_cards(_ids(rows))
    answer: TrendingList = {
        "window": window,
        "category": (
            {"id": category.pk, "name": category.name, "slug": category.slug} if category else None
        ),
        "items": [
            featured(cards[row])
            if isinstance(row, int)
            else trending_item(cards[row[0]], row[1], in_category=category is not None)
            for row in rows
        ],
    }
    return answer
