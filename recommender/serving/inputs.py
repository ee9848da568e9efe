"""Assembling what recommend() needs for one visitor: the history, the neighbours of its
products (cached per product, packed as bytes), the trending fills and every candidate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings

from catalog.selectors import category_with_descendant_ids, products_available_categories
from infrastructure import cache
from recommender.algorithms.buy_again import repeat_scores
from recommender.algorithms.events import (
    EventArrays,
    IntArray,
    distinct_first,
    members,
    positions,
)
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.live_blend import live_blend
from recommender.algorithms.live_ranker import LiveRanker, Nightly, live_ranked, query_features
from recommender.algorithms.merchandising import Merchandising, RuleKind
from recommender.algorithms.sessions import (
    CurrentSessions,
    SessionIndex,
    current_baskets,
    current_sessions,
    session_candidates_anchored,
)
from recommender.algorithms.tiered import (
    HISTORY_LENGTH,
    NEIGHBOURS_PER_EVENT,
    NO_CATEGORY,
    Catalog,
    Histories,
    Live,
    Ranked,
    Recommendations,
    Rules,
    recommend,
)
from recommender.configuration import (
    FILL_DEPTH,
    LEARNED_LENGTH,
    LIVE_CONTENT_NEIGHBOURS,
    LIVE_NEIGHBOUR_WEIGHT,
    LIVE_WEIGHT,
    LIVE_WEIGHT_NIGHTLY,
    PURCHASE_HISTORY_LENGTH,
    RECOMMENDATION_TRENDING_WINDOW,
    SESSION_CONFIG,
    served_recommender,
)
from recommender.models import SimilarityKind
from recommender.selectors import (
    served_live_ranker,
    served_session_index,
    stored_neighbours,
    trending_ranked,
    visitor_history,
)
from recommender.selectors.merchandising import ListRules
from recommender.serving.contracts import RecommendationRequest
from recommender.variants import CONFIGURATIONS


def repeats_of(purchases: EventArrays) -> Ranked:
    """The visitor's purchased products by recency-weighted frequency (visitor index 0)."""
    return repeat_scores(
        purchases,
        np.zeros(1, dtype=np.int64),
        now=time.time(),
        half_life_days=settings.RECOMMENDER_REPEAT_HALF_LIFE_DAYS,
    )


@dataclass(frozen=True)
class RecommendationInputs:
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
    # The requested category's ids with its sub-categories' (None: no category asked for).
    requested_categories: tuple[int, ...] | None
    # The current session's candidates and the basket; the session's products, oldest first.
    live: Live
    session_products: IntArray
    # Whether the live ranking ranked the learned list and repeats with the live candidates
    # (then they reach recommend() through `live` only, and the fields above explain them).
    nightly_ranked: bool
    # The shop's rules for this list (with the candidates' prices if a price range holds),
    # and the category cap when the request names none.
    merchandising: Merchandising
    default_max_per_category: int | None

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
                    else members(self.candidates, np.fromiter(available, dtype=np.int64))
                ),
            ),
            category_trending=self.category_trending,
            global_trending=self.global_trending,
            rules=Rules(
                k=self.request.k,
                max_per_category=self.request.max_per_category or self.default_max_per_category,
                include_interacted=self.request.include_interacted,
                repeat_weight=settings.RECOMMENDER_REPEAT_WEIGHT,
                personalised_categories=self.requested_categories,
                live_weight=LIVE_WEIGHT,
                live_weight_nightly=LIVE_WEIGHT_NIGHTLY,
            ),
            repeats=Ranked.empty() if self.nightly_ranked else self.repeats,
            learned=Ranked.empty() if self.nightly_ranked else self.learned,
            live=self.live,
            merchandising=self.merchandising,
            requested_category=np.array(
                [self.request.category.pk if self.request.category else NO_CATEGORY],
                dtype=np.int64,
            ),
        )


def recommendation_inputs(request: RecommendationRequest, rules: ListRules) -> RecommendationInputs:
    variant = CONFIGURATIONS[request.configuration]
    # Buy-again reads the visitor's purchases, in the same query as the history.
    read = visitor_history(
        visitor=request.visitor,
        length=HISTORY_LENGTH,
        purchase_length=PURCHASE_HISTORY_LENGTH if request.include_interacted else 0,
        # The learned list serves the default list only (recommend() ignores it otherwise).
        learned_length=0 if request.include_interacted or not variant.learned else LEARNED_LENGTH,
    )
    history, history_categories = read.recent, read.recent_categories
    neighbours, neighbour_categories = served_neighbours(history.product)
    trending = trending_fills()
    fill_length = 3 * request.k + 20  # what recommend() draws from each trending tier at most
    in_category: list[int] | None = None
    if request.category is None:
        category_trending = _by_category(trending, history_categories)
    else:
        in_category = category_with_descendant_ids(category=request.category)
        category_trending = _best_of(trending, in_category, fill_length)
    global_trending = _best_of(trending, None, fill_length)
    fills = (category_trending, global_trending)
    repeats = repeats_of(read.purchases) if request.include_interacted else Ranked.empty()
    repeat_categories = read.purchased_available
    learned, learned_categories = read.learned, read.learned_categories

    def nightly() -> Nightly:
        """The visitor's learned list and repeats for the live ranking: what the history read
        left out is read now (only a visitor with a current session, when the ranking serves,
        needs them)."""
        nonlocal learned, learned_categories
        rest = visitor_history(
            visitor=request.visitor,
            length=0,
            purchase_length=0 if request.include_interacted else PURCHASE_HISTORY_LENGTH,
            learned_length=LEARNED_LENGTH if request.include_interacted and variant.learned else 0,
        )
        if not request.include_interacted:
            # Every purchase, so the ranking leaves them all out of the default list.
            return Nightly(learned=read.learned, repeats=repeats_of(rest.purchases))
        # Candidates, explained as picked for the visitor when they make the list.
        learned, learned_categories = rest.learned, rest.learned_categories
        return Nightly(learned=rest.learned, repeats=repeats)

    live, session_products, live_categories, nightly_ranked = live_now(
        read.recent_events,
        neighbours,
        neighbour_categories,
        with_candidates=variant.live,
        nightly=nightly,
        include_interacted=request.include_interacted,
    )
    # Pinned products are candidates too (when they can be bought).
    pins = products_available_categories(
        among=[
            rule.product
            for rule in rules.merchandising.rules
            if rule.kind == RuleKind.PIN and rule.product is not None
        ]
    )
    candidates, first = distinct_first(
        np.concatenate(
            [
                history.product,
                neighbours.neighbour,
                *(f.product for f in fills),
                np.fromiter(repeat_categories, dtype=np.int64),
                learned.product,
                live.candidates.product,
                np.fromiter(pins, dtype=np.int64),
            ]
        )
    )
    categories = np.concatenate(
        [
            history_categories,
            neighbour_categories,
            *(f.group for f in fills),
            np.fromiter(repeat_categories.values(), dtype=np.int64),
            learned_categories,
            live_categories,
            np.fromiter(pins.values(), dtype=np.int64),
        ]
    )
    return RecommendationInputs(
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
        requested_categories=None if in_category is None else tuple(in_category),
        live=live,
        session_products=session_products,
        nightly_ranked=nightly_ranked,
        merchandising=rules.merchandising,
        default_max_per_category=variant.max_per_category or rules.defaults.max_per_category,
    )


def live_now(
    events: EventArrays,
    neighbours: Neighbours,
    neighbour_categories: IntArray,
    *,
    with_candidates: bool = True,
    nightly: Callable[[], Nightly] | None = None,
    include_interacted: bool = False,
) -> tuple[Live, IntArray, IntArray, bool]:
    """From one visitor's latest events (visitor index 0) and the served neighbours of their
    products: their current session's candidates (ranked by the served live ranking with the
    visitor's `nightly` ones, or V-SKNN over the served session index blended with the
    session products' neighbours), each one's anchor and category, their basket, the
    session's products (oldest first), and whether the nightly candidates were ranked with
    them (the purchased ones left out unless interacted products are allowed)."""
    visitor = np.zeros(1, dtype=np.int64)
    sessions = current_sessions(events, visitor, now=time.time())
    basket_visitor, basket_product = current_baskets(events, visitor)
    if len(sessions.product) == 0 or not with_candidates:
        # No current session (most misses), or a variant without live candidates: none; the
        # basket is still left out.
        quiet = Live(Ranked.empty(), np.empty(0, dtype=np.int64), basket_visitor, basket_product)
        return quiet, sessions.product, np.empty(0, dtype=np.int64), False
    index = served_session_index()
    ranker = served_live_ranker()
    if ranker is not None:
        candidates, anchor = _live_ranked(
            ranker, index, sessions, nightly() if nightly else Nightly.none(), include_interacted
        )
        position, indexed = positions(index.product, candidates.product)
        live = Live(
            candidates=candidates,
            anchor=anchor,
            basket_visitor=basket_visitor,
            basket_product=basket_product,
        )
        # Every ranked candidate is an indexed product.
        return live, sessions.product, index.category[position], len(candidates.product) > 0
    sknn, sknn_anchor = session_candidates_anchored(index, sessions, SESSION_CONFIG)
    # The neighbours' products with their categories; all available (the served lists hold
    # available products only, and the shown ones are checked again).
    products, first = distinct_first(neighbours.neighbour)
    known = Catalog(
        product=products,
        category=neighbour_categories[first],
        available=np.ones(len(products), dtype=np.bool_),
    )
    candidates, anchor = live_blend(
        sknn,
        sessions,
        neighbours,
        known,
        neighbour_weight=LIVE_NEIGHBOUR_WEIGHT,
        sknn_anchor=sknn_anchor,
    )
    position, indexed = positions(index.product, candidates.product)
    categories = np.where(
        indexed,
        index.category[position] if len(index.product) else -1,
        known.category_of(candidates.product),
    )
    live = Live(
        candidates=candidates,
        anchor=anchor,
        basket_visitor=basket_visitor,
        basket_product=basket_product,
    )
    return live, sessions.product, categories, False


def _live_ranked(
    ranker: LiveRanker,
    index: SessionIndex,
    sessions: CurrentSessions,
    nightly: Nightly,
    interacted: bool,
) -> tuple[Ranked, IntArray]:
    """The session's candidates and the visitor's nightly ones ranked by the served live
    ranking's model of the list, with their anchors."""
    content = content_neighbours(sessions.product)
    features = query_features(
        index,
        sessions,
        content,
        session=ranker.session,
        config=ranker.config,
        nightly=nightly,
        interacted=interacted,
    )
    return live_ranked(ranker, features)


# One stored neighbour of a product, with the neighbour's category: rows of this type, packed
# as bytes, are what the cache holds for each product (cheaper to read than pickled arrays).
NEIGHBOUR_ROW = np.dtype(
    [("neighbour", "<i8"), ("score", "<f8"), ("co_occurrence", "<i8"), ("category", "<i8")]
)


def served_neighbours(products: IntArray) -> tuple[Neighbours, IntArray]:
    """The served neighbours (see served_recommender) of each product, best
    NEIGHBOURS_PER_EVENT first, and each neighbour's category; cached per product until the
    similarities are recomputed."""
    product, rows = _cached_rows("neighbours", products, NEIGHBOUR_ROW, _neighbour_rows)
    neighbours = Neighbours(
        product=product,
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
    return _packed(rows, neighbours.product, ids)


# One stored content neighbour of a product, as the cache holds them (packed bytes).
CONTENT_ROW = np.dtype([("neighbour", "<i8"), ("score", "<f8")])


def content_neighbours(products: IntArray) -> Neighbours:
    """The stored content neighbours of each product (the live ranking's name features), best
    LIVE_CONTENT_NEIGHBOURS first; cached per product until the similarities are recomputed:
    one database query per session would cost a shopper's list as much as the ranking."""
    product, rows = _cached_rows("content", products, CONTENT_ROW, _content_rows)
    return Neighbours(
        product=product,
        neighbour=rows["neighbour"].copy(),
        score=rows["score"].copy(),
        co_occurrence=np.zeros(len(rows), dtype=np.int64),
    )


def _content_rows(products: list[int]) -> list[bytes]:
    ids = np.array(products, dtype=np.int64)
    neighbours = stored_neighbours(
        SimilarityKind.CONTENT, per_product=LIVE_CONTENT_NEIGHBOURS, products=ids
    )
    rows = np.empty(len(neighbours), dtype=CONTENT_ROW)
    rows["neighbour"] = neighbours.neighbour
    rows["score"] = neighbours.score
    return _packed(rows, neighbours.product, ids)


def _cached_rows(
    name: str, products: IntArray, row: np.dtype[Any], compute: Callable[[list[int]], list[bytes]]
) -> tuple[IntArray, npt.NDArray[Any]]:
    """Each distinct product's stored rows, packed as bytes of `row` and cached per product
    until the similarities are recomputed: the rows, and the product each belongs to."""
    distinct = distinct_first(products)[0]
    packed = cache.cached_many(
        cache.SIMILARITY,
        name,
        distinct.tolist(),
        timeout=settings.CACHE_TTL_SIMILAR,
        compute=compute,
        local=True,
    )
    lengths = [len(blob) // row.itemsize for blob in packed]
    return np.repeat(distinct, lengths), np.frombuffer(b"".join(packed), dtype=row)


def _packed(rows: npt.NDArray[Any], product: IntArray, ids: IntArray) -> list[bytes]:
    """Rows grouped by (sorted) product, as one blob of bytes per id."""
    starts = np.searchsorted(product, ids, side="left")
    stops = np.searchsorted(product, ids, side="right")
    return [rows[start:stop].tobytes() for start, stop in zip(starts, stops, strict=True)]


def trending_fills() -> Ranked:
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
        rows = np.flatnonzero(members(fills.group, np.asarray(categories, dtype=np.int64)))
        rows = rows[:length]
    return Ranked(group=fills.group[rows], product=fills.product[rows], score=fills.score[rows])


def _by_category(fills: Ranked, categories: Iterable[int]) -> Ranked:
    """The fills of the categories grouped by category, best first within each, as
    recommend() reads a category tier (it takes each visitor's own category's first rows)."""
    rows = np.flatnonzero(members(fills.group, np.asarray(categories, dtype=np.int64)))
    rows = rows[np.argsort(fills.group[rows], kind="stable")]
    return Ranked(group=fills.group[rows], product=fills.product[rows], score=fills.score[rows])


def _regrouped(ranked: Ranked, group: int) -> Ranked:
    return Ranked(np.full(len(ranked.product), group, dtype=np.int64), ranked.product, ranked.score)
