"""Session-based candidates: V-SKNN (Ludewig and Jannach, "Evaluation of session-based
recommendation algorithms", 2018) over the store's past sessions.

A session is a visitor's run of events with no gap longer than SESSION_GAP_SECONDS; an order
(or an imported invoice, whose lines share one time) is one. The index holds the recent past
sessions of at least two products as a binary sessions x products matrix.

For a visitor's current session (its products oldest first), each product weighs by its
position: the last one 1, the one before (n - 1) / n, and so on (V-SKNN's linear decay), so
what the shopper just did counts most. The `sample` most recent past sessions sharing a
product with it are its possible neighbours; its `neighbours` most similar ones (the summed
weights of the shared products, over the square roots of both sessions' lengths) vote for
their products with their similarity. Among the neural and nearest-neighbour session methods
compared on e-commerce logs, this family is as accurate as the best at a fraction of the cost,
and it needs no training: the index is the model, so new sessions count as soon as they are
indexed.

Pure: event arrays in, a frozen index and ranked candidates out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from recommender.algorithms.arrays import Catalog, Ranked
from recommender.algorithms.events import (
    ADD_TO_CART,
    PURCHASE,
    SECONDS_PER_DAY,
    EventArrays,
    FloatArray,
    IntArray,
    distinct_first,
    distinct_pairs,
    members,
    pair_key,
    positions,
    rank_within,
    slices,
)

SESSION_GAP_SECONDS = 30 * 60
# Past sessions ending less than this long before a request are not yet indexed: the frequent
# pipeline runs every INDEX_LAG_SECONDS / 2, so the evaluation uses this bound.
INDEX_LAG_SECONDS = 15 * 60


@dataclass(frozen=True)
class SessionConfig:
    """V-SKNN's parameters (chosen on the validation month, docs/recommender.md)."""

    neighbours: int = 100
    sample: int = 1_000
    # Position weights inside the current session: linear decay (the last product 1), or
    # every product alike (plain SKNN); the power sharpens the decay.
    decay: bool = True
    decay_power: float = 1.0
    # A past session's similarity halves with every half_life_days of its age at the query's
    # moment (STAN's session recency; None: no decay): shops' assortments and seasons move.
    half_life_days: float | None = None
    # Past sessions older than this at the query's moment are not neighbours (None: any age):
    # the served index holds this many days, and the evaluation must not see more.
    max_age_days: float | None = None
    # Shared products count by their inverse session frequency (a rare product in common says
    # more than a bestseller in common).
    idf: bool = False
    # Candidates kept per session.
    length: int = 200
    # Queries scored at once (memory: queries x sessions sharing a product).
    chunk: int = 256


DEFAULT_SESSION_CONFIG = SessionConfig()


@dataclass(frozen=True)
class SessionIndex:
    """Past sessions as a binary sessions x products CSR matrix (columns: `product`, sorted
    ids, with each one's `category` when indexed), rows ordered by the time each session ended
    (`ended`, ascending)."""

    matrix: sp.csr_matrix
    product: IntArray
    category: IntArray
    ended: FloatArray

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    @classmethod
    def empty(cls) -> SessionIndex:
        return cls(
            matrix=sp.csr_matrix((0, 0), dtype=np.float64),
            product=np.empty(0, dtype=np.int64),
            category=np.empty(0, dtype=np.int64),
            ended=np.empty(0, dtype=np.float64),
        )

    @cached_property
    def sessions_of_product(self) -> sp.csc_matrix:
        """The matrix by column (each product's sessions), made once per index: a request's
        search reads a few columns instead of multiplying through the whole index."""
        return self.matrix.tocsc()

    @cached_property
    def product_frequency(self) -> FloatArray:
        """How many indexed sessions hold each product."""
        return np.bincount(self.matrix.indices, minlength=len(self.product)).astype(np.float64)

    def to_bytes(self) -> bytes:
        """The index as NumPy's npz (the matrix is binary: its structure is all it holds)."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            indptr=self.matrix.indptr.astype(np.int64),
            indices=self.matrix.indices.astype(np.int32),
            product=self.product,
            category=self.category,
            ended=self.ended,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SessionIndex:
        with np.load(io.BytesIO(data)) as arrays:
            indptr, indices = arrays["indptr"], arrays["indices"]
            product, category, ended = arrays["product"], arrays["category"], arrays["ended"]
        matrix = sp.csr_matrix(
            (np.ones(len(indices)), indices, indptr), shape=(len(ended), len(product))
        )
        return cls(matrix=matrix, product=product, category=category, ended=ended)


@dataclass(frozen=True)
class CurrentSessions:
    """Queries: each one's products (rows grouped by query, oldest first) and the moment it is
    asked (only past sessions that ended before it are neighbours)."""

    query: IntArray
    product: IntArray
    at: FloatArray

    def __len__(self) -> int:
        return len(self.at)


def session_numbers(events: EventArrays) -> IntArray:
    """Each event's session (0..n-1, numbered in visitor, then time order)."""
    if len(events) == 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((np.arange(len(events)), events.timestamp, events.visitor))
    visitor, moment = events.visitor[order], events.timestamp[order]
    starts = np.ones(len(order), dtype=np.bool_)
    starts[1:] = (visitor[1:] != visitor[:-1]) | (moment[1:] - moment[:-1] > SESSION_GAP_SECONDS)
    numbers = np.empty(len(order), dtype=np.int64)
    numbers[order] = np.cumsum(starts) - 1
    return numbers


def session_index(events: EventArrays, catalog: Catalog, *, max_sessions: int) -> SessionIndex:
    """The most recent max_sessions sessions of at least two distinct products (with each
    product's category in the catalog)."""
    if len(events) == 0:
        return SessionIndex.empty()
    session = session_numbers(events)
    pairs = np.stack(distinct_pairs(session, events.product))
    sizes = np.bincount(pairs[0], minlength=int(session.max()) + 1)
    ended = np.full(len(sizes), -np.inf)
    np.maximum.at(ended, session, events.timestamp)
    kept = np.flatnonzero(sizes >= 2)
    kept = kept[np.lexsort((kept, ended[kept]))][-max_sessions:]
    row_of = np.full(len(sizes), -1, dtype=np.int64)
    row_of[kept] = np.arange(len(kept))
    pairs = pairs[:, row_of[pairs[0]] >= 0]
    product, column = np.unique(pairs[1], return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(pairs.shape[1]), (row_of[pairs[0]], column.ravel())),
        shape=(len(kept), len(product)),
    )
    return SessionIndex(
        matrix=matrix, product=product, category=catalog.category_of(product), ended=ended[kept]
    )


def current_sessions(events: EventArrays, visitor_ids: IntArray, *, now: float) -> CurrentSessions:
    """Each visitor's current session (by position in visitor_ids): its events since the last
    gap longer than SESSION_GAP_SECONDS, if the last one is recent enough; asked at now."""
    if len(events) == 0 or float(events.timestamp.max()) < now - SESSION_GAP_SECONDS:
        # Nobody did anything lately (most cache misses): no current session at all.
        empty = np.empty(0, dtype=np.int64)
        return CurrentSessions(empty, empty.copy(), np.full(len(visitor_ids), now))
    position, known = positions(visitor_ids, events.visitor)
    recent = events.select(known & (events.timestamp <= now))
    owner = position[known & (events.timestamp <= now)]
    session = session_numbers(recent)
    ended = np.full(int(session.max()) + 1 if len(session) else 0, -np.inf)
    np.maximum.at(ended, session, recent.timestamp)
    # Sessions are numbered in time order within a visitor: the highest is the latest.
    latest = np.full(len(visitor_ids), -1, dtype=np.int64)
    np.maximum.at(latest, owner, session)
    latest = latest[latest >= 0]
    latest = latest[now - ended[latest] <= SESSION_GAP_SECONDS]
    wanted = members(session, latest)
    chosen = recent.select(wanted)
    query = np.searchsorted(visitor_ids, chosen.visitor)
    order = np.lexsort((np.arange(len(chosen)), chosen.timestamp, query))
    return CurrentSessions(
        query=query[order],
        product=chosen.product[order],
        at=np.full(len(visitor_ids), now, dtype=np.float64),
    )


def current_baskets(events: EventArrays, visitor_ids: IntArray) -> tuple[IntArray, IntArray]:
    """Each visitor's basket: the products they added to the cart since their last purchase,
    as (position in visitor_ids, product) rows."""
    added_any = events.event_type == ADD_TO_CART
    if not added_any.any():
        # Nothing was ever added (most of one visitor's histories): no basket.
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    position, known = positions(visitor_ids, events.visitor)
    last_purchase = np.full(len(visitor_ids), -np.inf)
    bought = known & (events.event_type == PURCHASE)
    np.maximum.at(last_purchase, position[bought], events.timestamp[bought])
    added = known & added_any
    added &= events.timestamp > np.where(known, last_purchase[position], np.inf)
    pairs = distinct_first(pair_key(position[added], events.product[added]))[0]
    return pairs >> 32, pairs & 0xFFFFFFFF


def session_candidates(
    index: SessionIndex,
    sessions: CurrentSessions,
    config: SessionConfig = DEFAULT_SESSION_CONFIG,
) -> Ranked:
    """Each query's best `config.length` products by V-SKNN (grouped by query index, best
    first; the session's own products included: the caller decides what to leave out)."""
    if len(index) == 0 or len(sessions.query) == 0:
        return Ranked.empty()
    query, column, weight = _weighted(index, sessions, config)
    parts = []
    for start in range(0, len(sessions), config.chunk):
        stop = min(start + config.chunk, len(sessions))
        rows = (query >= start) & (query < stop)
        if rows.any():
            similar = _nearest(
                index,
                _query_matrix(query[rows] - start, column[rows], weight[rows], stop - start, index),
                sessions.at[start:stop],
                config,
            )
            parts.append(_voted(index, similar, start, config))
    return Ranked.concatenate(parts)


def session_candidates_anchored(
    index: SessionIndex,
    sessions: CurrentSessions,
    config: SessionConfig = DEFAULT_SESSION_CONFIG,
) -> tuple[Ranked, IntArray]:
    """One query's V-SKNN candidates (query 0) and, for each, the product of the session that
    brought it most (the session product's weight times the similarity of the neighbours
    holding both; -1 when none did): what a request serves and explains, from one search of
    the nearest sessions."""
    nothing = (Ranked.empty(), np.empty(0, dtype=np.int64))
    if len(index) == 0 or len(sessions.query) == 0:
        return nothing
    _, column, weight = _weighted(index, sessions, config)
    if len(column) == 0:
        return nothing
    similar = _nearest_one(index, column, weight, float(sessions.at[0]), config)
    candidates = _voted(index, similar, 0, config)
    candidate_column, known = positions(index.product, candidates.product)
    # The neighbours' rows, on the columns of the session's and the candidates' products.
    neighbours = index.matrix[similar.indices]
    holding = neighbours[:, column].toarray() * similar.data[:, None]
    brought = (holding.T @ neighbours[:, candidate_column].toarray()) * weight[:, None]
    brought[column[:, None] == candidate_column[None, :]] = 0.0
    brought[:, ~known] = 0.0
    anchor = np.full(len(candidates.product), -1, dtype=np.int64)
    if len(column) and len(candidates.product):
        best = brought.argmax(axis=0)
        found = brought[best, np.arange(len(candidates.product))] > 0
        anchor[found] = index.product[column[best[found]]]
    return candidates, anchor


def nearest_sessions(
    index: SessionIndex,
    column: IntArray,
    weight: FloatArray,
    at: float,
    config: SessionConfig,
    *,
    frequency: FloatArray,
    sessions: int,
) -> tuple[IntArray, FloatArray]:
    """One query's nearest past sessions (index rows, ascending) and their similarities, from
    its products' index columns and position weights: V-SKNN's neighbourhood. The inverse
    frequencies come from `frequency` over `sessions` (the sessions a query at `at` may read,
    so nothing later weighs in)."""
    if sessions == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    if config.idf:
        weight = weight * _inverse_frequency(frequency[column], sessions)
    return _nearest_rows(index, column, weight, at, config)


def _inverse_frequency(frequency: FloatArray, sessions: int) -> FloatArray:
    """V-SKNN's weight of a shared product held by `frequency` of `sessions` sessions."""
    idf: FloatArray = np.log(sessions / np.maximum(frequency, 1.0))
    return idf


def _nearest_one(
    index: SessionIndex, column: IntArray, weight: FloatArray, at: float, config: SessionConfig
) -> sp.csr_matrix:
    """_nearest for one query, from the columns of its products (the same sessions, the same
    similarities, the same order of ties)."""
    rows, similarity = _nearest_rows(index, column, weight, at, config)
    return sp.csr_matrix(
        (similarity, rows, np.array([0, len(rows)], dtype=np.int64)), shape=(1, len(index))
    )


def _nearest_rows(
    index: SessionIndex, column: IntArray, weight: FloatArray, at: float, config: SessionConfig
) -> tuple[IntArray, FloatArray]:
    """_nearest_one's sessions (ascending) and similarities as arrays: a request reads them
    so, without building a sparse matrix."""
    by_product = index.sessions_of_product
    starts, stops = by_product.indptr[column], by_product.indptr[column + 1]
    lengths = stops - starts
    session = by_product.indices[slices(starts, lengths)[1]]
    session, inverse = np.unique(session, return_inverse=True)
    shared = np.bincount(
        inverse.ravel(), weights=np.repeat(weight, lengths), minlength=len(session)
    )
    before = index.ended[session] < at
    if config.max_age_days is not None:
        before &= index.ended[session] >= at - config.max_age_days * SECONDS_PER_DAY
    # Ascending session numbers: the last `sample` are the most recent.
    session, shared = session[before][-config.sample :], shared[before][-config.sample :]
    session_length = np.diff(index.matrix.indptr)[session]
    similarity = shared / np.sqrt(int((weight > 0).sum()) * session_length)
    if config.half_life_days is not None:
        age_days = (at - index.ended[session]) / SECONDS_PER_DAY
        similarity = similarity * np.power(0.5, age_days / config.half_life_days)
    best = np.sort(np.lexsort((-session, -similarity))[: config.neighbours])
    return session[best].astype(np.int64), similarity[best]


def _query_matrix(
    query: IntArray, column: IntArray, weight: FloatArray, queries: int, index: SessionIndex
) -> sp.csr_matrix:
    return sp.csr_matrix((weight, (query, column)), shape=(queries, len(index.product)))


def _voted(
    index: SessionIndex, similar: sp.csr_matrix, start: int, config: SessionConfig
) -> Ranked:
    """The products the nearest sessions hold, scored by their summed similarity, the best
    `config.length` of each query (numbered from `start`)."""
    scores = (similar @ index.matrix).tocoo()
    ranked = Ranked.of(
        index.product[scores.col], scores.data, group=scores.row.astype(np.int64) + start
    )
    keep = rank_within(ranked.group) < config.length
    return Ranked(ranked.group[keep], ranked.product[keep], ranked.score[keep])


def position_weights(
    sessions: CurrentSessions, *, decay: bool = True, power: float = 1.0
) -> tuple[IntArray, IntArray, FloatArray]:
    """Each query's distinct products (query, product, weight rows, oldest first) weighted by
    position: a product seen twice takes its latest one; the last product weighs 1, the first
    1/n (n: the distinct products), or all 1 without decay."""
    query, product = sessions.query, sessions.product
    # The last occurrence of each (query, product): rows are oldest first within a query.
    reversed_order = np.arange(len(query))[::-1]
    _, last = np.unique(pair_key(query[reversed_order], product[reversed_order]), return_index=True)
    latest = np.sort(reversed_order[last])
    query, product = query[latest], product[latest]
    weight = np.ones(len(query))
    if decay:
        position = rank_within(query) + 1.0
        weight = (position / np.bincount(query, minlength=len(sessions))[query]) ** power
    return query, product, weight


def _weighted(
    index: SessionIndex, sessions: CurrentSessions, config: SessionConfig
) -> tuple[IntArray, IntArray, FloatArray]:
    """Each query's indexed products as index columns, with their position weights (and
    inverse session frequencies, if configured)."""
    query, product, weight = position_weights(
        sessions, decay=config.decay, power=config.decay_power
    )
    column, known = positions(index.product, product)
    query, column, weight = query[known], column[known], weight[known]
    if config.idf:
        weight = weight * _inverse_frequency(index.product_frequency[column], len(index))
    return query, column, weight


def _nearest(
    index: SessionIndex, weighted: sp.csr_matrix, at: FloatArray, config: SessionConfig
) -> sp.csr_matrix:
    """(queries x sessions) similarities of each query's `neighbours` nearest past sessions,
    among the `sample` most recent that ended before the query's moment."""
    overlap = (weighted @ index.matrix.T).tocoo()
    row, session, shared = overlap.row, overlap.col, overlap.data
    before = index.ended[session] < at[row]
    if config.max_age_days is not None:
        before &= index.ended[session] >= at[row] - config.max_age_days * SECONDS_PER_DAY
    row, session, shared = row[before], session[before], shared[before]
    # Rows are in end-time order: the highest row numbers are the most recent sessions.
    order = np.lexsort((-session, row))
    order = order[rank_within(row[order]) < config.sample]
    row, session, shared = row[order], session[order], shared[order]
    query_length = np.asarray((weighted > 0).sum(axis=1)).ravel()
    session_length = np.diff(index.matrix.indptr)
    similarity = shared / np.sqrt(query_length[row] * session_length[session])
    if config.half_life_days is not None:
        age_days = (at[row] - index.ended[session]) / SECONDS_PER_DAY
        similarity = similarity * np.power(0.5, age_days / config.half_life_days)
    order = np.lexsort((-session, -similarity, row))
    order = order[rank_within(row[order]) < config.neighbours]
    return sp.csr_matrix(
        (similarity[order], (row[order], session[order])),
        shape=(weighted.shape[0], len(index)),
    )
