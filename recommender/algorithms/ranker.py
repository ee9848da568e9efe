"""A learned ranking of the products new to each returning buyer (the default list).

No single signal predicts what a returning customer buys next that they never bought before:
EASE on the whole history, EASE on the last 90 days, what goes with their last order, product
text, how new a product is and how many first-time buyers it is drawing lately all help, by
amounts that depend on each other. A gradient-boosted classifier (scikit-learn's
HistGradientBoostingClassifier) learns how to combine them from the store's own past:

- at weekly cut-offs before `now`, each visitor who purchased before the cut-off and in the
  `label_days` after it contributes their candidates (EASE's best and the month's most popular
  products, all new to them), described by features read only from the events before the
  cut-off, labelled 1 when they bought the product in those days;
- at `now` the same features rank each buyer's candidates; the best `k` are stored and served
  (recommend() takes them as the personalised tier of the visitors who have them).

The EASE weights are dense (products²), so the ranker needs a catalog of at most
EASE_MAX_PRODUCTS products with events. Pure: arrays in, arrays and a fitted model out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.ensemble import HistGradientBoostingClassifier

from recommender.algorithms.ease import EASE_MAX_PRODUCTS, ease_weights
from recommender.algorithms.events import (
    PURCHASE,
    SECONDS_PER_DAY,
    EventArrays,
    FloatArray,
    IntArray,
    pair_key,
    positions,
    rank_within,
)
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.tiered import Catalog, Ranked

FEATURES = (
    "ease_history",
    "ease_rank",
    "ease_last_order",
    "recent_ease_history",
    "recent_ease_last_30_days",
    "recent_ease_last_order",
    "content_history",
    "content_last_order",
    "similar_visitors_recent",
    "transition",
    "visitors_7_days",
    "visitors_14_days",
    "visitors_30_days",
    "visitors_90_days",
    "visitors_ever",
    "first_time_visitors_30_days",
    "first_time_visitors_90_days",
    "first_time_share_30_days",
    "repeat_rate",
    "product_age_days",
    "days_since_product_last_event",
    "category_trend",
    "visitor_category_share",
    "visitor_days_since_last_event",
    "visitor_age_days",
    "visitor_orders",
    "visitor_products",
)


# Lists are stored this much longer than asked for: products bought or sold out after they
# were ranked are left out when served.
RANKED_LIST_MARGIN = 50


class TooManyProductsError(ValueError):
    """The catalog has more products with events than the ranker's dense matrices allow."""


@dataclass(frozen=True)
class RankerConfig:
    # EASE penalties: the whole history, and the recent days (the served similarity's).
    l2: float = 800.0
    recent_l2: float = 200.0
    recent_days: float = 90.0
    # A cut-off's label: first purchases in the following label_days.
    label_days: float = 30.0
    # Training cut-offs, every step_days back from now - label_days, each with at least
    # min_history_days of events before it.
    step_days: float = 7.0
    max_cutoffs: int = 30
    min_history_days: float = 30.0
    # Buyers sampled per training cut-off (fixed seed), to bound training on large stores.
    max_visitors_per_cutoff: int = 1_000
    # Candidates: EASE's best, and the most popular products of the last 30 days.
    ease_candidates: int = 200
    popular_candidates: int = 100
    # Candidates from the visitors most alike (cosine over all their products), scored by what
    # those visitors interacted with in the last similar_visitors_days; and from the
    # transition model (what visitors with such a history bought next, new to them).
    similar_visitors: int = 50
    similar_visitors_days: float = 60.0
    similar_visitor_candidates: int = 50
    transition_l2: float = 200.0
    transition_step_days: float = 15.0
    transition_candidates: int = 50
    # Visitors whose features are computed at once when ranking (memory: visitors x products).
    visitors_per_chunk: int = 2_000
    # The classifier, chosen on the validation month of UCI Online Retail (docs/recommender.md).
    iterations: int = 400
    learning_rate: float = 0.03
    max_leaf_nodes: int = 15
    l2_regularization: float = 1.0


@dataclass(frozen=True)
class Ranker:
    """A fitted ranker and what it was fitted on."""

    model: HistGradientBoostingClassifier
    config: RankerConfig
    cutoffs: int
    rows: int
    positives: int


@dataclass(frozen=True)
class Candidates:
    """Candidate rows: the visitor's position in the visitor ids, the product id, features."""

    visitor: IntArray
    product: IntArray
    features: FloatArray


Progress = Callable[[int, int], None]


def training_cutoffs(events: EventArrays, *, now: float, config: RankerConfig) -> list[float]:
    """The training cut-offs, newest first: weekly before now - label_days, each with at
    least min_history_days of events before it."""
    if len(events) == 0:
        return []
    earliest = float(events.timestamp.min()) + config.min_history_days * SECONDS_PER_DAY
    newest = now - config.label_days * SECONDS_PER_DAY
    cutoffs = [newest - n * config.step_days * SECONDS_PER_DAY for n in range(config.max_cutoffs)]
    return [cutoff for cutoff in cutoffs if cutoff >= earliest]


def ranker_fit(
    events: EventArrays,
    catalog: Catalog,
    content: Neighbours,
    *,
    now: float,
    config: RankerConfig = RankerConfig(),
    progress: Progress | None = None,
) -> Ranker | None:
    """The ranker learnt from the events before `now`; None when no cut-off has a labelled
    first purchase to learn from (a new store)."""
    events = events.select(events.timestamp < now)
    cutoffs = training_cutoffs(events, now=now, config=config)
    features, labels = [], []
    for done, cutoff in enumerate(cutoffs, start=1):
        buyers = _labelled_buyers(events, cutoff, config)
        if len(buyers):
            past = events.select(events.timestamp < cutoff)
            candidates = _Cutoff(past, catalog, content, now=cutoff, config=config).candidates(
                buyers
            )
            features.append(candidates.features)
            labels.append(_first_purchases_after(events, cutoff, config, buyers, candidates))
        if progress:
            progress(done, len(cutoffs))
    label = np.concatenate(labels) if labels else np.empty(0, dtype=np.int8)
    if len(np.unique(label)) < 2:
        return None
    model = HistGradientBoostingClassifier(
        max_iter=config.iterations,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        l2_regularization=config.l2_regularization,
        early_stopping=False,
        random_state=0,
    )
    model.fit(np.concatenate(features), label)
    return Ranker(
        model=model,
        config=config,
        cutoffs=len(labels),
        rows=len(label),
        positives=int(label.sum()),
    )


def ranked_lists(
    ranker: Ranker,
    events: EventArrays,
    catalog: Catalog,
    content: Neighbours,
    *,
    now: float,
    visitor_ids: IntArray,
    k: int,
    progress: Progress | None = None,
) -> Ranked:
    """Each visitor's k best candidates by the ranker, grouped by the visitor's position in
    visitor_ids (ascending ids), best first; the score is the predicted chance of a purchase."""
    cutoff = _Cutoff(events.select(events.timestamp < now), catalog, content, now, ranker.config)
    parts = []
    chunks = list(_chunks(len(visitor_ids), ranker.config.visitors_per_chunk))
    for done, (start, stop) in enumerate(chunks, start=1):
        candidates = cutoff.candidates(visitor_ids[start:stop])
        score = (
            ranker.model.predict_proba(candidates.features)[:, 1]
            if len(candidates.visitor)
            else np.empty(0)
        )
        ranked = Ranked.of(candidates.product, score, group=candidates.visitor + start)
        parts.append(_top(ranked, k))
        if progress:
            progress(done, len(chunks))
    if not parts:
        return Ranked.empty()
    return Ranked(
        group=np.concatenate([p.group for p in parts]),
        product=np.concatenate([p.product for p in parts]),
        score=np.concatenate([p.score for p in parts]),
    )


def _top(ranked: Ranked, k: int) -> Ranked:
    keep = rank_within(ranked.group) < k
    return Ranked(group=ranked.group[keep], product=ranked.product[keep], score=ranked.score[keep])


def _binary(rows: IntArray, columns: IntArray, shape: tuple[int, int]) -> sp.csr_matrix:
    """The rows x columns matrix with a 1 at each (row, column) pair given, however often."""
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _best_of_rows(scores: np.ndarray, allowed: FloatArray, count: int) -> np.ndarray:
    """Per row, the `count` best-scored columns among those `allowed` holds finite."""
    masked = np.where(np.isfinite(allowed), np.asarray(scores), -np.inf)
    best = np.zeros(masked.shape, dtype=bool)
    count = min(count, masked.shape[1])
    if count:
        top = np.argpartition(-masked, count - 1, axis=1)[:, :count]
        np.put_along_axis(best, top, True, axis=1)
    return best


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


def _labelled_buyers(events: EventArrays, cutoff: float, config: RankerConfig) -> IntArray:
    """Visitors who purchased before the cut-off and in the label days after it (a sample of
    max_visitors_per_cutoff of them, fixed seed)."""
    purchase = events.event_type == PURCHASE
    before = np.unique(events.visitor[purchase & (events.timestamp < cutoff)])
    after = np.unique(
        events.visitor[
            purchase
            & (events.timestamp >= cutoff)
            & (events.timestamp < cutoff + config.label_days * SECONDS_PER_DAY)
        ]
    )
    buyers = np.intersect1d(before, after)
    if len(buyers) > config.max_visitors_per_cutoff:
        rng = np.random.default_rng(0)
        buyers = np.sort(rng.choice(buyers, config.max_visitors_per_cutoff, replace=False))
    return buyers


def _first_purchases_after(
    events: EventArrays,
    cutoff: float,
    config: RankerConfig,
    buyers: IntArray,
    candidates: Candidates,
) -> np.ndarray:
    """1 for each candidate its visitor purchased in the label days after the cut-off."""
    wanted = (
        (events.event_type == PURCHASE)
        & (events.timestamp >= cutoff)
        & (events.timestamp < cutoff + config.label_days * SECONDS_PER_DAY)
    )
    position, known = positions(buyers, events.visitor[wanted])
    bought = pair_key(position[known], events.product[wanted][known])
    return np.isin(pair_key(candidates.visitor, candidates.product), bought).astype(np.int8)


class _Cutoff:
    """What the events before one time say: the models and statistics every feature reads."""

    def __init__(
        self,
        events: EventArrays,
        catalog: Catalog,
        content: Neighbours,
        now: float,
        config: RankerConfig,
    ) -> None:
        position, known = positions(catalog.product, events.product)
        events = events.select(known)
        position = position[known]
        # Columns: the catalog products with events, the only ones EASE can score.
        self.columns, column = np.unique(position, return_inverse=True)
        if len(self.columns) > EASE_MAX_PRODUCTS:
            raise TooManyProductsError(
                f"The ranker reads EASE weights, which need at most {EASE_MAX_PRODUCTS:,} "
                f"products with events ({len(self.columns):,} here)."
            )
        self.events, self.column, self.now, self.config = events, column.ravel(), now, config
        self.product_ids = catalog.product[self.columns]
        self.available = catalog.available[self.columns]
        category = catalog.category[self.columns]
        self.category = np.unique(category, return_inverse=True)[1].ravel()
        self.visitor_ids, self.row = np.unique(events.visitor, return_inverse=True)
        self.row = self.row.ravel()
        recent = events.timestamp >= now - config.recent_days * SECONDS_PER_DAY
        everyone = self._matrix(np.ones(len(events), bool))
        self.weights = ease_weights(everyone, l2=config.l2)[0]
        self.recent_weights = ease_weights(self._matrix(recent), l2=config.recent_l2)[0]
        self.content = self._content_matrix(content)
        norms = np.sqrt(np.asarray(everyone.sum(axis=1)).ravel())
        self.normalised = sp.csr_matrix(everyone.multiply(1.0 / norms[:, None]))
        self.recently = self._matrix(
            events.timestamp >= now - config.similar_visitors_days * SECONDS_PER_DAY
        )
        self.transition = self._transition()
        self.product_features = self._product_features()

    def _matrix(self, mask: np.ndarray) -> sp.csr_matrix:
        """Binary visitors x columns matrix of the masked events (rows: all visitors)."""
        return _binary(
            self.row[mask], self.column[mask], (len(self.visitor_ids), len(self.columns))
        )

    def _transition(self) -> FloatArray:
        """Columns x columns ridge regression from a visitor's history before a time to the
        products they bought new to them in the label days after it, over times every
        transition_step_days before now - label_days (with min_history_days before them)."""
        config, events = self.config, self.events
        size, label = len(self.columns), config.label_days * SECONDS_PER_DAY
        before, after = [], []
        time = self.now - label
        earliest = (
            events.timestamp.min(initial=self.now) + config.min_history_days * SECONDS_PER_DAY
        )
        purchase = events.event_type == PURCHASE
        while time >= earliest:
            past = events.timestamp < time
            bought = purchase & (events.timestamp >= time) & (events.timestamp < time + label)
            rows = np.intersect1d(self.row[past], self.row[bought])
            if len(rows):
                history = self._matrix(past)[rows]
                new = self._matrix(bought)[rows]
                before.append(history)
                after.append(new - new.multiply(history))
            time -= config.transition_step_days * SECONDS_PER_DAY
        if not before:
            return np.zeros((size, size))
        history, new = sp.vstack(before).tocsr(), sp.vstack(after).tocsr()
        gram = (history.T @ history).toarray()
        gram[np.diag_indices_from(gram)] += config.transition_l2
        solved: FloatArray = np.linalg.solve(gram, (history.T @ new).toarray())
        return solved

    def _content_matrix(self, content: Neighbours) -> sp.csr_matrix:
        source, has_source = positions(self.product_ids, content.product)
        target, has_target = positions(self.product_ids, content.neighbour)
        both = has_source & has_target
        return sp.csr_matrix(
            (content.score[both], (source[both], target[both])),
            shape=(len(self.columns), len(self.columns)),
        )

    def _product_features(self) -> FloatArray:
        """Per column: popularity over several windows, first-time visitors, repeat rate,
        age, days since the last event, and its category's trend."""
        events, column, now = self.events, self.column, self.now
        size = len(self.columns)
        pair = self.row.astype(np.int64) * size + column
        age_of_event = (now - events.timestamp) / SECONDS_PER_DAY

        def distinct_visitors(days: float) -> FloatArray:
            recent_pairs = np.unique(pair[age_of_event < days])
            return np.bincount(recent_pairs % size, minlength=size).astype(np.float64)

        # Each (visitor, product)'s first event, and on how many distinct days it happened.
        order = np.lexsort((events.timestamp, pair))
        first = np.r_[True, pair[order][1:] != pair[order][:-1]]
        first_age = age_of_event[order][first]
        first_column = column[order][first]
        day = (events.timestamp // SECONDS_PER_DAY).astype(np.int64) % 100_000
        day_pair = np.unique(pair * 100_000 + day)
        visits = np.unique(day_pair // 100_000, return_counts=True)
        visitors_ever = np.bincount(visits[0] % size, minlength=size).astype(np.float64)
        returning = np.bincount(visits[0][visits[1] > 1] % size, minlength=size)
        new_30 = np.bincount(first_column[first_age < 30], minlength=size).astype(np.float64)
        new_90 = np.bincount(first_column[first_age < 90], minlength=size).astype(np.float64)
        youngest = np.full(size, np.inf)
        np.minimum.at(youngest, column, age_of_event)
        oldest = np.zeros(size)
        np.maximum.at(oldest, column, age_of_event)
        categories = self.category.max() + 1 if size else 1
        trend = np.log1p(
            np.bincount(self.category[column[age_of_event < 14]], minlength=categories)
        ) - np.log1p(np.bincount(self.category[column[age_of_event < 90]], minlength=categories))
        visitors_30 = distinct_visitors(30)
        return np.column_stack(
            [
                np.log1p(distinct_visitors(7)),
                np.log1p(distinct_visitors(14)),
                np.log1p(visitors_30),
                np.log1p(distinct_visitors(90)),
                np.log1p(visitors_ever),
                np.log1p(new_30),
                np.log1p(new_90),
                np.log1p(new_30) - np.log1p(visitors_30),
                returning / np.maximum(visitors_ever, 1.0),
                oldest,
                youngest,
                trend[self.category] if size else np.empty(0),
            ]
        )

    def candidates(self, visitor_ids: IntArray) -> Candidates:
        """Each visitor's candidates and their features (visitors without events here have
        none)."""
        config, size = self.config, len(self.columns)
        if size == 0 or len(visitor_ids) == 0:
            return Candidates(
                np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, len(FEATURES)))
            )
        row, known = positions(self.visitor_ids, visitor_ids)
        visitors = np.flatnonzero(known)
        mine = np.isin(self.row, row[visitors])
        local = np.searchsorted(row[visitors], self.row[mine])
        events_age = (self.now - self.events.timestamp[mine]) / SECONDS_PER_DAY

        def history(mask: np.ndarray) -> sp.csr_matrix:
            return _binary(local[mask], self.column[mine][mask], (len(visitors), size))

        everything = np.ones(len(local), dtype=bool)
        purchase = self.events.event_type[mine] == PURCHASE
        last_purchase = np.full(len(visitors), -np.inf)
        np.maximum.at(last_purchase, local[purchase], self.events.timestamp[mine][purchase])
        in_last_order = purchase & (self.events.timestamp[mine] == last_purchase[local])
        seen, last_order = history(everything), history(in_last_order)
        scores = [
            seen @ self.weights,
            last_order @ self.weights,
            seen @ self.recent_weights,
            history(events_age < 30) @ self.recent_weights,
            last_order @ self.recent_weights,
            (seen @ self.content).toarray(),
            (last_order @ self.content).toarray(),
            self._similar_visitors(row[visitors]),
            seen @ self.transition,
        ]
        ease = np.array(scores[0], dtype=np.float64)
        ease[:, ~self.available] = -np.inf
        seen_rows, seen_columns = seen.nonzero()
        ease[seen_rows, seen_columns] = -np.inf
        ease_rank = np.argsort(np.argsort(-ease, axis=1, kind="stable"), axis=1)
        popular = np.log1p(self.product_features[:, 2])
        popular = np.where(self.available, popular, -np.inf)
        most_popular = np.zeros(size, dtype=bool)
        most_popular[np.argsort(-popular, kind="stable")[: config.popular_candidates]] = True
        chosen = (
            (ease_rank < config.ease_candidates)
            | most_popular[None, :]
            | _best_of_rows(scores[7], ease, config.similar_visitor_candidates)
            | _best_of_rows(scores[8], ease, config.transition_candidates)
        )
        chosen &= np.isfinite(ease)
        visitor, column = np.nonzero(chosen)
        visitor_features = self._visitor_features(local, mine, len(visitors), seen, column, visitor)
        features = np.column_stack(
            [
                scores[0][visitor, column],
                ease_rank[visitor, column],
                *(np.asarray(score)[visitor, column] for score in scores[1:]),
                self.product_features[column],
                visitor_features,
            ]
        )
        return Candidates(
            visitor=np.flatnonzero(known)[visitor],
            product=self.product_ids[column],
            features=features,
        )

    def _similar_visitors(self, rows: IntArray) -> FloatArray:
        """What the rows' most alike visitors (cosine) interacted with lately, weighted by
        likeness."""
        likeness = (self.normalised[rows] @ self.normalised.T).toarray()
        likeness[np.arange(len(rows)), rows] = 0.0
        keep = min(self.config.similar_visitors, likeness.shape[1] - 1)
        if keep > 0:
            threshold = -np.partition(-likeness, keep - 1, axis=1)[:, keep - 1 : keep]
            likeness[likeness < threshold] = 0.0
        scores: FloatArray = np.asarray(sp.csr_matrix(likeness) @ self.recently.toarray())
        return scores

    def _visitor_features(
        self,
        local: IntArray,
        mine: np.ndarray,
        visitors: int,
        seen: sp.csr_matrix,
        column: IntArray,
        visitor: IntArray,
    ) -> FloatArray:
        """Per candidate row: the visitor's share of products in the candidate's category, days
        since their last and first event, their orders (distinct purchase times), products."""
        timestamp = self.events.timestamp[mine]
        last = np.full(visitors, -np.inf)
        np.maximum.at(last, local, timestamp)
        first = np.full(visitors, np.inf)
        np.minimum.at(first, local, timestamp)
        purchase = self.events.event_type[mine] == PURCHASE
        orders = np.bincount(
            np.unique(np.column_stack([local[purchase], timestamp[purchase]]), axis=0)[:, 0].astype(
                np.int64
            ),
            minlength=visitors,
        )
        products = np.asarray(seen.sum(axis=1)).ravel()
        categories = int(self.category.max()) + 1
        by_category = (
            seen
            @ sp.csr_matrix(
                (np.ones(len(self.columns)), (np.arange(len(self.columns)), self.category)),
                shape=(len(self.columns), categories),
            )
        ).toarray() / np.maximum(products[:, None], 1.0)
        return np.column_stack(
            [
                by_category[visitor, self.category[column]],
                (self.now - last[visitor]) / SECONDS_PER_DAY,
                (self.now - first[visitor]) / SECONDS_PER_DAY,
                orders[visitor],
                products[visitor],
            ]
        )
