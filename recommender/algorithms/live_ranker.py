"""The request-time learned ranking of a visitor's live candidates.

A visitor's current session (its products oldest first, the last weighing most) brings
candidates from two searches of the session index, both limited to the past sessions that
ended before the request: V-SKNN's nearest past sessions (sessions.py), and the products the
session's products were indexed with (item-to-item co-occurrence over the same sessions). A
gradient-boosted classifier (scikit-learn's HistGradientBoostingClassifier) scores each
candidate from FEATURES: how the nearest sessions voted for it, how it co-occurs with the last
product and with the whole session, how popular it is, how alike its name and category are.
It is learnt nightly from the store's own recent orders replayed as the live protocol replays
them (live.py): the first half of each order is the session, the rest is what it should find.

Every feature is read from sessions that ended before the moment scored (and content, which
is the catalog's), so training on past orders sees what a request would have seen then. The
served item-to-item table is not a feature: it was learnt from the very orders the training
replays.

Pure: arrays in, a fitted model (serialisable) and ranked candidates out.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from recommender.algorithms.arrays import Ranked
from recommender.algorithms.events import (
    SECONDS_PER_DAY,
    EventArrays,
    FloatArray,
    IntArray,
    pair_key,
    positions,
    slices,
)
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.sessions import (
    CurrentSessions,
    SessionConfig,
    SessionIndex,
    nearest_sessions,
    position_weights,
)

if TYPE_CHECKING:
    # live.py replays through the served recommender, which reads this module.
    from recommender.algorithms.live import LiveCases

FEATURES = (
    "vsknn",
    "vsknn_rank",
    "neighbour_support",
    "nearest_similarity",
    "cosine_last",
    "cosine_max",
    "cosine_weighted",
    "confidence_max",
    "co_occurrence_last",
    "co_occurrence_recent",
    "coverage",
    "popularity",
    "popularity_7_days",
    "popularity_30_days",
    "session_length",
    "content_max",
    "content_last",
    "category_share",
)


# The windows of the recent popularity features.
RECENT_DAYS = (7.0, 30.0)


@dataclass(frozen=True)
class LiveRankerConfig:
    """What the ranking learns from and how (chosen on the validation month,
    docs/recommender.md)."""

    # Orders of the last training_days replayed (a uniform sample of max_cases, fixed seed).
    training_days: float = 150.0
    max_cases: int = 20_000
    # Fewer orders than this and nothing is learnt (the blend of V-SKNN and neighbours serves):
    # on August 2011, learnt from 300 orders the ranking was below the blend for guests
    # (0.1955 against 0.1993 NDCG@20), from 1,000 above it (0.2048).
    min_orders: int = 1_000
    # Candidates per query from each search (V-SKNN, co-occurrence), before their union.
    candidates: int = 150
    # Only the session's latest products are read (a long browsing session's first views
    # say little about now, and each product costs a column of the index).
    session_products: int = 20
    iterations: int = 300
    learning_rate: float = 0.05
    leaves: int = 31
    seed: int = 0


DEFAULT_LIVE_RANKER_CONFIG = LiveRankerConfig()


@dataclass(frozen=True)
class QueryFeatures:
    """Each query's candidates (rows grouped by query), their FEATURES and the session product
    that brought each most (its anchor)."""

    query: IntArray
    product: IntArray
    anchor: IntArray
    values: FloatArray


@dataclass(frozen=True)
class LiveRanker:
    """A fitted ranking: the classifier and what it was learnt with."""

    model: HistGradientBoostingClassifier
    config: LiveRankerConfig
    session: SessionConfig
    training_cases: int
    training_rows: int

    def to_bytes(self) -> bytes:
        # scikit-learn documents pickle as its models' persistence; only our own pipeline
        # writes these bytes, and only our workers read them.
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> LiveRanker:
        ranker = pickle.loads(data)  # noqa: S301 (our own snapshot, see to_bytes)
        if not isinstance(ranker, cls):
            raise TypeError("not a live ranker snapshot")
        return ranker

    def score(self, features: QueryFeatures) -> FloatArray:
        if len(features.product) == 0:
            return np.empty(0, dtype=np.float64)
        probability: FloatArray = self.model.predict_proba(features.values)[:, 1]
        return probability


def query_features(
    index: SessionIndex,
    sessions: CurrentSessions,
    content: Neighbours,
    *,
    session: SessionConfig,
    config: LiveRankerConfig = DEFAULT_LIVE_RANKER_CONFIG,
) -> QueryFeatures:
    """The candidates and features of every query (its session's own products left out)."""
    query, product, weight = position_weights(sessions)
    starts = np.searchsorted(query, np.arange(len(sessions) + 1))
    parts = [
        _one_query(
            index,
            product[starts[q] : starts[q + 1]][-config.session_products :],
            weight[starts[q] : starts[q + 1]][-config.session_products :],
            float(sessions.at[q]),
            content,
            session,
            config,
        )
        for q in range(len(sessions))
    ]
    sizes = np.array([len(part[0]) for part in parts], dtype=np.int64)
    return QueryFeatures(
        query=np.repeat(np.arange(len(sessions), dtype=np.int64), sizes),
        product=np.concatenate([part[0] for part in parts]) if parts else _no_ints(),
        anchor=np.concatenate([part[1] for part in parts]) if parts else _no_ints(),
        values=(
            np.concatenate([part[2] for part in parts]) if parts else np.empty((0, len(FEATURES)))
        ),
    )


def live_ranked(ranker: LiveRanker, features: QueryFeatures) -> tuple[Ranked, IntArray]:
    """The queries' candidates best first by the ranking's probability (grouped by query),
    with each one's anchor."""
    score = ranker.score(features)
    order = np.lexsort((features.product, -score, features.query))
    return (
        Ranked(group=features.query[order], product=features.product[order], score=score[order]),
        features.anchor[order],
    )


def fit_live_ranker(
    events: EventArrays,
    index: SessionIndex,
    content: Neighbours,
    *,
    now: float,
    session: SessionConfig,
    config: LiveRankerConfig = DEFAULT_LIVE_RANKER_CONFIG,
) -> LiveRanker | None:
    """The ranking learnt from the orders of the training_days before now, each asked as the
    live protocol asks it (None: fewer than min_orders orders, or none with a relevant
    candidate, to learn from)."""
    # Imported here: live.py replays through the served recommender, which reads this module.
    from recommender.algorithms.live import basket_sessions

    cases = _training_cases(events, now=now, config=config)
    if len(cases) == 0 or cases.eligible < config.min_orders:
        return None
    features = query_features(
        index, basket_sessions(cases), content, session=session, config=config
    )
    relevant = np.isin(
        pair_key(features.query, features.product), pair_key(cases.rest[0], cases.rest[1])
    )
    if not relevant.any() or relevant.all():
        return None
    model = HistGradientBoostingClassifier(
        max_iter=config.iterations,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.leaves,
        early_stopping=False,
        random_state=config.seed,
    )
    model.fit(features.values, relevant)
    return LiveRanker(
        model=model,
        config=config,
        session=session,
        training_cases=len(cases),
        training_rows=len(features.product),
    )


def training_orders(events: EventArrays, *, now: float, config: LiveRankerConfig) -> int:
    """How many orders the ranking would learn from at `now` (before sampling)."""
    return _training_cases(events, now=now, config=config).eligible


def _training_cases(events: EventArrays, *, now: float, config: LiveRankerConfig) -> LiveCases:
    from recommender.algorithms.live import live_cases  # see TYPE_CHECKING above

    return live_cases(
        events,
        split_at=now - config.training_days * SECONDS_PER_DAY,
        until=now,
        max_cases=config.max_cases,
        seed=config.seed,
    )


def _no_ints() -> IntArray:
    return np.empty(0, dtype=np.int64)


def _one_query(
    index: SessionIndex,
    product: IntArray,
    weight: FloatArray,
    at: float,
    content: Neighbours,
    session: SessionConfig,
    config: LiveRankerConfig,
) -> tuple[IntArray, IntArray, FloatArray]:
    """One session's (candidates, anchors, features)."""
    nothing = (_no_ints(), _no_ints(), np.empty((0, len(FEATURES))))
    column, known = positions(index.product, product)
    column, weight = column[known], weight[known]
    if len(index) == 0 or len(column) == 0:
        return nothing
    usable = _usable_rows(index, at, session)
    frequency = _frequency(index, usable)
    # V-SKNN: the nearest past sessions vote with their similarity.
    neighbour_rows, similarity = nearest_sessions(
        index, column, weight, at, session, frequency=frequency, sessions=usable[1] - usable[0]
    )
    neighbours = index.matrix[neighbour_rows]
    votes = np.asarray(similarity @ neighbours).ravel() if len(neighbour_rows) else None
    support = (
        np.asarray(neighbours.sum(axis=0)).ravel() / len(neighbour_rows)
        if len(neighbour_rows)
        else None
    )
    # Co-occurrence over the usable sessions: each session product's row of counts, read off
    # the index's arrays at once (a request's largest cost when read row by row).
    counts, recent_counts, frequency_of = _co_occurrence(
        index, column, weight, usable, _first_row_since(index, at, RECENT_DAYS[-1])
    )
    cosine = counts / np.sqrt(np.maximum(frequency_of, 1.0)[:, None] * np.maximum(frequency, 1.0))
    weighted = weight @ cosine
    # Candidates: the best of each search, the session's own products left out.
    own = np.zeros(len(index.product), dtype=np.bool_)
    own[column] = True
    chosen: list[IntArray] = []
    for scores in (votes, weighted):
        if scores is None:
            continue
        ranked = np.argsort(-scores, kind="stable")
        ranked = ranked[(scores[ranked] > 0) & ~own[ranked]]
        chosen.append(ranked[: config.candidates])
    candidate = np.unique(np.concatenate(chosen)) if chosen else _no_ints()
    if len(candidate) == 0:
        return nothing
    vote = votes[candidate] if votes is not None else np.zeros(len(candidate))
    vote = vote / (vote.max() if vote.max() > 0 else 1.0)
    item = weighted[candidate] / max(float(weighted[candidate].max()), 1e-12)
    # What sells now: shops are seasonal, and the half-year's counts hide it.
    recent = [
        np.log1p(_frequency(index, (_first_row_since(index, at, days), usable[1]))[candidate])
        for days in RECENT_DAYS
    ]
    confidence = counts[:, candidate] / np.maximum(frequency_of, 1.0)[:, None]
    content_scores = _content(content, index.product[column], index.product[candidate])
    same_category = (index.category[candidate][None, :] == index.category[column][:, None]).mean(
        axis=0
    )
    values = np.column_stack(
        [
            vote,
            _ranks(vote, candidate),
            support[candidate] if support is not None else np.zeros(len(candidate)),
            np.full(len(candidate), similarity.max() if len(similarity) else 0.0),
            cosine[-1, candidate],
            cosine[:, candidate].max(axis=0),
            item,
            confidence.max(axis=0),
            np.log1p(counts[-1, candidate]),
            np.log1p(recent_counts[candidate]),
            (counts[:, candidate] > 0).mean(axis=0),
            np.log1p(frequency[candidate]),
            *recent,
            np.full(len(candidate), float(len(column))),
            content_scores.max(axis=0),
            content_scores[-1],
            same_category,
        ]
    )
    brought = counts[:, candidate] * weight[:, None]
    anchor = np.where(
        brought.max(axis=0) > 0, index.product[column[brought.argmax(axis=0)]], -1
    ).astype(np.int64)
    return index.product[candidate], anchor, values


def _co_occurrence(
    index: SessionIndex,
    column: IntArray,
    weight: FloatArray,
    usable: tuple[int, int],
    recent_start: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(session products x products) counts of the usable sessions holding both, the
    position-weighted counts over the recent ones (from row recent_start), and how many
    usable sessions hold each session product."""
    products = len(index.product)
    by_product = index.sessions_of_product
    starts = by_product.indptr[column]
    owner, at = slices(starts, by_product.indptr[column + 1] - starts)
    holding = by_product.indices[at]
    kept = (holding >= usable[0]) & (holding < usable[1])
    owner, holding = owner[kept], holding[kept]
    frequency_of = np.bincount(owner, minlength=len(column)).astype(np.float64)
    indptr = index.matrix.indptr
    session_of, at = slices(indptr[holding], indptr[holding + 1] - indptr[holding])
    held = index.matrix.indices[at].astype(np.int64)
    row = owner[session_of]
    counts = np.bincount(row * products + held, minlength=len(column) * products)
    recent = holding[session_of] >= recent_start
    recent_counts = np.bincount(held[recent], weights=weight[row[recent]], minlength=products)
    return (
        counts.reshape(len(column), products).astype(np.float64),
        recent_counts.astype(np.float64),
        frequency_of,
    )


def _ranks(score: FloatArray, candidate: IntArray) -> FloatArray:
    """Each candidate's rank by score (0: the best; ties by product)."""
    rank = np.empty(len(score))
    rank[np.lexsort((candidate, -score))] = np.arange(len(score))
    return rank


def _usable_rows(index: SessionIndex, at: float, session: SessionConfig) -> tuple[int, int]:
    """The index rows (a range: rows are in end-time order) a query at `at` may read."""
    stop = int(np.searchsorted(index.ended, at, side="left"))
    start = 0 if session.max_age_days is None else _first_row_since(index, at, session.max_age_days)
    return start, stop


def _first_row_since(index: SessionIndex, at: float, days: float) -> int:
    """The first index row of the sessions that ended at most `days` before `at`."""
    return int(np.searchsorted(index.ended, at - days * SECONDS_PER_DAY, side="left"))


def _frequency(index: SessionIndex, usable: tuple[int, int]) -> FloatArray:
    """How many usable sessions hold each product (the whole index's, computed once, when
    every row is usable: a request made now)."""
    if usable == (0, len(index)):
        return index.product_frequency
    indptr = index.matrix.indptr
    held = index.matrix.indices[indptr[usable[0]] : indptr[usable[1]]]
    return np.bincount(held, minlength=len(index.product)).astype(np.float64)


def _content(content: Neighbours, session: IntArray, candidate: IntArray) -> FloatArray:
    """(session products x candidates) content similarity, 0 where not among the stored
    neighbours."""
    values = np.zeros((len(session), len(candidate)))
    if len(content) == 0:
        return values
    rows = np.isin(content.product, session) & np.isin(content.neighbour, candidate)
    order = np.argsort(session, kind="stable")
    at_session, _ = positions(session[order], content.product[rows])
    order_candidate = np.argsort(candidate, kind="stable")
    at_candidate, _ = positions(candidate[order_candidate], content.neighbour[rows])
    # A product can be in the session once (position_weights keeps distinct products).
    values[order[at_session], order_candidate[at_candidate]] = content.score[rows]
    return values
