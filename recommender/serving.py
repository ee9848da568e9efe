"""What the API and the storefront serve: recommendations, similar and trending products.

Reads of the stored pipeline results. Recommendations come from the same pure function the
evaluation measures (`recommend()`, called with one visitor and the served neighbours). Every
answer is JSON-ready data, cached under the seed's key families (rec / sim / trending) and
invalidated by generation: pipeline runs invalidate their families, a visitor's events that
visitor's recommendations.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from django.conf import settings
from django.db.models import Q, TextChoices

from catalog.models import Category, Product
from catalog.selectors import (
    CategoryCard,
    ProductCard,
    category_with_descendant_ids,
    product_cards,
    product_cards_available,
    products_available,
    products_available_categories,
)
from recommender import cache
from recommender.algorithms.buy_again import repeat_scores
from recommender.algorithms.evaluation import Recommender
from recommender.algorithms.events import EventArrays, IntArray
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.ranker import RANKED_LIST_MARGIN
from recommender.algorithms.tiered import (
    HISTORY_LENGTH,
    NEIGHBOURS_PER_EVENT,
    NO_CATEGORY,
    Catalog,
    Histories,
    Ranked,
    Recommendations,
    Rules,
    Tier,
    recommend,
)
from recommender.metrics import RECOMMENDATION_SECONDS
from recommender.models import (
    BoughtTogether,
    ContentSimilarity,
    ItemSimilarity,
    ProductNeighbour,
    SimilarityKind,
    TrendingScore,
    TrendingWindow,
)
from recommender.selectors import (
    stored_neighbours,
    trending_ranked,
    visitor_history,
)
from tracking.models import EVENT_WEIGHTS, EventType

# Category trending, and global trending for the recommendations: the window the seed uses.
RECOMMENDATION_TRENDING_WINDOW = TrendingWindow.DAYS_7
# The longest list the API serves, and how deep each trending tier is kept for the longest
# list's fill (recommend() draws at most 3 k + 20 of each).
MAX_K = 50
FILL_DEPTH = 3 * MAX_K + 20


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


def served_recommender() -> Recommender:
    """The recommender the API serves and the evaluation measures as "tiered"."""
    return Recommender("tiered", content_weight=settings.RECOMMENDER_CONTENT_WEIGHT, learned=True)


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
    inputs = _recommendation_inputs(request)
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
        "items": _explained(chosen, cards, request.category, inputs),
    }


# How long each stored learned list is (compute_ranking), all of which a recommendation reads.
LEARNED_LENGTH = MAX_K + RANKED_LIST_MARGIN
# How many of a visitor's latest purchases buy-again reads: years of a regular's orders.
PURCHASE_HISTORY_LENGTH = 500


def _repeats(purchases: EventArrays) -> Ranked:
    """The visitor's purchased products by recency-weighted frequency (visitor index 0)."""
    return repeat_scores(
        purchases,
        np.zeros(1, dtype=np.int64),
        now=time.time(),
        half_life_days=settings.RECOMMENDER_REPEAT_HALF_LIFE_DAYS,
    )


def _buy_again_compute(request: RecommendationRequest) -> RecommendationList:
    """The visitor's own purchases that can be bought now, best first (the category, if one
    is asked for, with its sub-categories)."""
    history = visitor_history(
        visitor=request.visitor, length=0, purchase_length=PURCHASE_HISTORY_LENGTH
    )
    repeats = _repeats(history.purchases)
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
        "items": [_bought_before(cards[product], score) for product, score in chosen],
    }


def _bought_before(card: ProductCard, score: float) -> Item:
    return _item(card, score, {"type": ReasonType.BOUGHT_BEFORE.value}, "You bought this before")


@dataclass(frozen=True)
class _RecommendationInputs:
    """What recommend() needs for one visitor: the history, the neighbours of its products,
    the trending fills, and every candidate product (sorted) with its category."""

    request: RecommendationRequest
    history: Histories
    neighbours: Neighbours
    category_trending: Ranked
    global_trending: Ranked
    candidates: IntArray
    categories: IntArray
    # The visitor's repeat purchases: empty unless interacted products are allowed.
    repeats: Ranked
    # The visitor's learned list: empty when interacted products are allowed, or it has none.
    learned: Ranked

    def recommend(self, *, available: set[int] | None) -> Recommendations:
        """The list, with the given candidates available (None: all of them)."""
        return recommend(
            histories=self.history,
            visitor_count=1,
            neighbours=self.neighbours,
            catalog=Catalog(
                product=self.candidates,
                category=self.categories,
                available=(
                    np.ones(len(self.candidates), dtype=np.bool_)
                    if available is None
                    else np.isin(self.candidates, list(available))
                ),
            ),
            category_trending=self.category_trending,
            global_trending=self.global_trending,
            rules=Rules(
                k=self.request.k,
                max_per_category=self.request.max_per_category,
                include_interacted=self.request.include_interacted,
                repeat_weight=settings.RECOMMENDER_REPEAT_WEIGHT,
            ),
            repeats=self.repeats,
            learned=self.learned,
            requested_category=np.array(
                [self.request.category.pk if self.request.category else NO_CATEGORY],
                dtype=np.int64,
            ),
        )


def _recommendation_inputs(request: RecommendationRequest) -> _RecommendationInputs:
    # Buy-again reads the visitor's purchases, in the same query as the history.
    read = visitor_history(
        visitor=request.visitor,
        length=HISTORY_LENGTH,
        purchase_length=PURCHASE_HISTORY_LENGTH if request.include_interacted else 0,
        # The learned list serves the default list only (recommend() ignores it otherwise).
        learned_length=0 if request.include_interacted else LEARNED_LENGTH,
    )
    history, history_categories = read.recent, read.recent_categories
    neighbours, neighbour_categories = _served_neighbours(history.product)
    trending = _trending_fills()
    fill_length = 3 * request.k + 20  # what recommend() draws from each trending tier at most
    if request.category is None:
        category_trending = _by_category(trending, history_categories)
    else:
        in_category = category_with_descendant_ids(category=request.category)
        category_trending = _best_of(trending, in_category, fill_length)
    global_trending = _best_of(trending, None, fill_length)
    fills = (category_trending, global_trending)
    repeats = _repeats(read.purchases) if request.include_interacted else Ranked.empty()
    repeat_categories = read.purchased_available
    learned, learned_categories = read.learned, read.learned_categories
    candidates, first = np.unique(
        np.concatenate(
            [
                history.product,
                neighbours.neighbour,
                *(f.product for f in fills),
                np.fromiter(repeat_categories, dtype=np.int64),
                learned.product,
            ]
        ),
        return_index=True,
    )
    categories = np.concatenate(
        [
            history_categories,
            neighbour_categories,
            *(f.group for f in fills),
            np.fromiter(repeat_categories.values(), dtype=np.int64),
            learned_categories,
        ]
    )
    return _RecommendationInputs(
        request=request,
        history=history,
        neighbours=neighbours,
        # A requested category fills with its sub-categories' products as one group.
        category_trending=(
            category_trending
            if request.category is None
            else _regrouped(category_trending, request.category.pk)
        ),
        global_trending=_regrouped(global_trending, 0),
        candidates=candidates,
        categories=categories[first],
        repeats=repeats,
        learned=learned,
    )


def _shown(chosen: Recommendations) -> list[int]:
    """The products a list shows: its items and the history products its reasons name."""
    shown: list[int] = np.concatenate(
        [chosen.product, chosen.because[chosen.because >= 0]]
    ).tolist()
    return shown


# One stored neighbour of a product, with the neighbour's category: rows of this type, packed
# as bytes, are what the cache holds for each product (cheaper to read than pickled arrays).
NEIGHBOUR_ROW = np.dtype(
    [("neighbour", "<i8"), ("score", "<f8"), ("co_occurrence", "<i8"), ("category", "<i8")]
)


def _served_neighbours(products: IntArray) -> tuple[Neighbours, IntArray]:
    """The served neighbours (see served_recommender) of each product, best
    NEIGHBOURS_PER_EVENT first, and each neighbour's category; cached per product until the
    similarities are recomputed."""
    distinct = np.unique(products)
    packed = cache.cached_many(
        cache.SIMILARITY,
        "neighbours",
        distinct.tolist(),
        timeout=settings.CACHE_TTL_SIMILAR,
        compute=_neighbour_rows,
        local=True,
    )
    rows = np.frombuffer(b"".join(packed), dtype=NEIGHBOUR_ROW)
    lengths = [len(blob) // NEIGHBOUR_ROW.itemsize for blob in packed]
    neighbours = Neighbours(
        product=np.repeat(distinct, lengths),
        neighbour=rows["neighbour"].copy(),
        score=rows["score"].copy(),
        co_occurrence=rows["co_occurrence"].copy(),
    )
    return neighbours, rows["category"].copy()


def _neighbour_rows(products: list[int]) -> list[bytes]:
    ids = np.array(products, dtype=np.int64)
    neighbours = served_recommender().neighbours(
        *(
            stored_neighbours(kind, per_product=NEIGHBOURS_PER_EVENT, products=ids)
            for kind in (SimilarityKind.BEHAVIOURAL, SimilarityKind.CONTENT)
        )
    )
    # Unavailable neighbours are left out now; one restocked comes back with the next list.
    categories = products_available_categories(among=np.unique(neighbours.neighbour).tolist())
    shown = np.array([p in categories for p in neighbours.neighbour.tolist()], dtype=np.bool_)
    neighbours = Neighbours(
        product=neighbours.product[shown],
        neighbour=neighbours.neighbour[shown],
        score=neighbours.score[shown],
        co_occurrence=neighbours.co_occurrence[shown],
    )
    rows = np.empty(len(neighbours), dtype=NEIGHBOUR_ROW)
    rows["neighbour"] = neighbours.neighbour
    rows["score"] = neighbours.score
    rows["co_occurrence"] = neighbours.co_occurrence
    rows["category"] = [categories[p] for p in neighbours.neighbour.tolist()]
    starts = np.searchsorted(neighbours.product, ids, side="left")
    stops = np.searchsorted(neighbours.product, ids, side="right")
    return [rows[start:stop].tobytes() for start, stop in zip(starts, stops, strict=True)]


def _trending_fills() -> Ranked:
    """The best FILL_DEPTH available trending products of each category, the recommendations'
    fills, best first across categories (cached until trending is recomputed)."""
    return cache.cached(
        cache.TRENDING,
        "fills-best-first",
        RECOMMENDATION_TRENDING_WINDOW,
        timeout=settings.CACHE_TTL_TRENDING,
        compute=lambda: _best_first(
            trending_ranked(window=RECOMMENDATION_TRENDING_WINDOW, depth=FILL_DEPTH)
        ),
        local=True,
    )


def _best_first(ranked: Ranked) -> Ranked:
    """The rows by descending score, ties by ascending product id."""
    order = np.lexsort((ranked.product, -ranked.score))
    return Ranked(
        group=ranked.group[order], product=ranked.product[order], score=ranked.score[order]
    )


def _best_of(fills: Ranked, categories: Iterable[int] | None, length: int) -> Ranked:
    """The `length` best rows of the categories (None: of every category) taken together,
    best first, each still grouped under its own category (`fills` is best first)."""
    if categories is None:
        rows: slice | IntArray = slice(0, length)
    else:
        rows = np.flatnonzero(np.isin(fills.group, np.fromiter(categories, dtype=np.int64)))
        rows = rows[:length]
    return Ranked(group=fills.group[rows], product=fills.product[rows], score=fills.score[rows])


def _by_category(fills: Ranked, categories: Iterable[int]) -> Ranked:
    """The fills of the categories grouped by category, best first within each, as
    recommend() reads a category tier (it takes each visitor's own category's first rows)."""
    rows = np.flatnonzero(np.isin(fills.group, np.fromiter(categories, dtype=np.int64)))
    rows = rows[np.argsort(fills.group[rows], kind="stable")]
    return Ranked(group=fills.group[rows], product=fills.product[rows], score=fills.score[rows])


def _regrouped(ranked: Ranked, group: int) -> Ranked:
    return Ranked(np.full(len(ranked.product), group, dtype=np.int64), ranked.product, ranked.score)


def _explained(
    chosen: Recommendations,
    cards: dict[int, ProductCard],
    requested: Category | None,
    inputs: _RecommendationInputs,
) -> list[Item]:
    bought = set(inputs.repeats.product.tolist())
    learned = set(inputs.learned.product.tolist())
    history = inputs.history
    purchased = set(history.product[history.weight >= EVENT_WEIGHTS[EventType.PURCHASE]].tolist())
    items: list[Item] = []
    for product, score, tier, because in zip(
        chosen.product.tolist(),
        chosen.score.tolist(),
        chosen.tier.tolist(),
        chosen.because,
        strict=True,
    ):
        card = cards[product]
        if tier == Tier.PERSONALISED and product in bought:
            items.append(_bought_before(card, score))
            continue
        if tier == Tier.PERSONALISED and product in learned and because[0] < 0:
            picked: Reason = {"type": ReasonType.PICKED_FOR_YOU.value}
            items.append(_item(card, score, picked, "Picked for you from your orders"))
            continue
        if tier == Tier.PERSONALISED:
            sources = [int(source) for source in because if source >= 0]
            names = [cards[source]["name"] for source in sources if source in cards]
            reason: Reason = {"type": ReasonType.SIMILAR_TO.value, "products": sources}
            verb = "bought" if sources and purchased.issuperset(sources) else "viewed"
            explanation = f"Because you {verb} " + " and ".join(names)
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


def _bought_together_compute(product: Product, k: int) -> BoughtTogetherList:
    rows = _neighbours_browsable(BoughtTogether, product, k)
    cards = product_cards(row[0] for row in rows)
    items = [
        _item(
            cards[p],
            score,
            {"type": ReasonType.BOUGHT_TOGETHER.value, "orders": orders},
            f"Bought together in {orders} orders",
        )
        for p, score, orders in rows
    ]
    return {"product": product.pk, "items": items}


def _neighbours_browsable(
    model: type[ProductNeighbour], product: Product, k: int
) -> list[tuple[int, float, int]]:
    """(neighbour, score, co_occurrence) of the product's best k neighbours a shopper may be
    shown now."""
    return list(
        model._default_manager.filter(product_id=product.pk)
        .filter(_browsable("similar_product"))
        .order_by("-score", "similar_product_id")
        .values_list("similar_product_id", "score", "co_occurrence")[:k]
    )


def _similar_compute(product: Product, k: int) -> SimilarList:
    for strategy, model in (
        (SimilarStrategy.ITEM_SIMILARITY, ItemSimilarity),
        (SimilarStrategy.CONTENT_SIMILARITY, ContentSimilarity),
    ):
        rows = _neighbours_browsable(model, product, k)
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
