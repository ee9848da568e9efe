"""What the events before one time say: the models and statistics every ranker feature reads.

Built by `snapshot_at()` (the heavy work: two EASE solves, the transition model, the product
statistics), then read by the candidate features (features.py) for any number of visitors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from recommender.algorithms.ease import ease_weights
from recommender.algorithms.events import (
    PURCHASE,
    SECONDS_PER_DAY,
    EventArrays,
    FloatArray,
    IntArray,
    distinct_pairs,
    positions,
)
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.ranker.config import RankerConfig
from recommender.algorithms.tiered import Catalog

# The product statistics, by name (features.py stacks them with the others by name).
ProductColumns = dict[str, FloatArray]


@dataclass(frozen=True)
class Snapshot:
    """The events before `now` over the catalog products that have events (the columns)."""

    config: RankerConfig
    now: float
    events: EventArrays
    # Per event: its visitor's row and its product's column.
    row: IntArray
    column: IntArray
    # Per row: the visitor id. Per column: the product id, availability, category index.
    visitor_ids: IntArray
    product_ids: IntArray
    available: np.ndarray
    category: IntArray
    # Columns x columns: EASE over the whole history and over the recent days, content
    # similarity, and the transition ridge model.
    weights: FloatArray
    recent_weights: FloatArray
    content: sp.csr_matrix
    transition: FloatArray
    # Rows x columns: every visitor's products, L2-normalised by row (visitor likeness), and
    # what each did in the last similar_visitors_days.
    normalised: sp.csr_matrix
    recently: sp.csr_matrix
    product_features: ProductColumns

    @property
    def size(self) -> int:
        return len(self.product_ids)


def binary(rows: IntArray, columns: IntArray, shape: tuple[int, int]) -> sp.csr_matrix:
    """The rows x columns matrix with a 1 at each (row, column) pair given, however often
    (float32, as the EASE weights it multiplies: a float64 operand would copy them)."""
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def snapshot_at(
    events: EventArrays, catalog: Catalog, content: Neighbours, now: float, config: RankerConfig
) -> Snapshot:
    """The snapshot of the events before `now` (the caller selects them)."""
    position, known = positions(catalog.product, events.product)
    events = events.select(known)
    position = position[known]
    # Columns: the catalog products with events (the only ones EASE can score), the most
    # visited of them when there are more than the dense matrices may hold. Events on the
    # others are left out, as events on products outside the catalog are.
    kept = _most_visited(events.visitor, position, config.max_products)
    if kept is not None:
        events, position = events.select(kept), position[kept]
    columns, column = np.unique(position, return_inverse=True)
    visitor_ids, row = np.unique(events.visitor, return_inverse=True)
    row, column = row.ravel(), column.ravel()
    shape = (len(visitor_ids), len(columns))
    product_ids = catalog.product[columns]
    category = np.unique(catalog.category[columns], return_inverse=True)[1].ravel()

    def matrix(mask: np.ndarray) -> sp.csr_matrix:
        return binary(row[mask], column[mask], shape)

    recent = events.timestamp >= now - config.recent_days * SECONDS_PER_DAY
    everyone = matrix(np.ones(len(events), bool))
    norms = np.sqrt(np.asarray(everyone.sum(axis=1)).ravel())
    return Snapshot(
        config=config,
        now=now,
        events=events,
        row=row,
        column=column,
        visitor_ids=visitor_ids,
        product_ids=product_ids,
        available=catalog.available[columns],
        category=category,
        # Row-major once: the solves return column-major arrays, which SciPy would copy for
        # every chunk of visitors multiplied by them.
        weights=np.ascontiguousarray(ease_weights(everyone, l2=config.l2)[0]),
        recent_weights=np.ascontiguousarray(ease_weights(matrix(recent), l2=config.recent_l2)[0]),
        content=_content_matrix(content, product_ids),
        transition=np.ascontiguousarray(
            _transition(events, row, matrix, len(columns), now, config)
        ),
        normalised=sp.csr_matrix(everyone.multiply(1.0 / norms[:, None])),
        recently=matrix(events.timestamp >= now - config.similar_visitors_days * SECONDS_PER_DAY),
        product_features=_product_features(events, row, column, category, now),
    )


def _most_visited(visitor: IntArray, position: IntArray, most: int) -> np.ndarray | None:
    """Which events are on the `most` products with the most distinct visitors (ties: the
    lower catalog position); None when no more than `most` products have events."""
    products, product = np.unique(position, return_inverse=True)
    if len(products) <= most:
        return None
    with_visitor, _ = distinct_pairs(product.ravel(), visitor)
    visitors = np.bincount(with_visitor, minlength=len(products))
    chosen = np.zeros(len(products), dtype=bool)
    chosen[np.lexsort((products, -visitors))[:most]] = True
    kept: np.ndarray = chosen[product.ravel()]
    return kept


def _transition(
    events: EventArrays,
    row: IntArray,
    matrix: Callable[[np.ndarray], sp.csr_matrix],
    size: int,
    now: float,
    config: RankerConfig,
) -> FloatArray:
    """Columns x columns ridge regression from a visitor's history before a time to the
    products they bought new to them in the label days after it, over times every
    transition_step_days before now - label_days (with min_history_days before them)."""
    label = config.label_days * SECONDS_PER_DAY
    before, after = [], []
    time = now - label
    earliest = events.timestamp.min(initial=now) + config.min_history_days * SECONDS_PER_DAY
    purchase = events.event_type == PURCHASE
    while time >= earliest:
        past = events.timestamp < time
        bought = purchase & (events.timestamp >= time) & (events.timestamp < time + label)
        rows = np.intersect1d(row[past], row[bought])
        if len(rows):
            history = matrix(past)[rows]
            new = matrix(bought)[rows]
            before.append(history)
            after.append(new - new.multiply(history))
        time -= config.transition_step_days * SECONDS_PER_DAY
    if not before:
        return np.zeros((size, size), dtype=np.float32)
    history = sp.vstack(before).tocsr().astype(np.float32)
    new = sp.vstack(after).tocsr().astype(np.float32)
    gram = (history.T @ history).toarray()
    gram[np.diag_indices_from(gram)] += config.transition_l2
    # Symmetric positive definite (the ridge): a Cholesky solve in single precision, as EASE.
    solved: FloatArray = scipy.linalg.solve(
        gram, (history.T @ new).toarray(), assume_a="pos", overwrite_a=True, overwrite_b=True
    )
    return solved


def _content_matrix(content: Neighbours, product_ids: IntArray) -> sp.csr_matrix:
    source, has_source = positions(product_ids, content.product)
    target, has_target = positions(product_ids, content.neighbour)
    both = has_source & has_target
    return sp.csr_matrix(
        (content.score[both], (source[both], target[both])),
        shape=(len(product_ids), len(product_ids)),
    )


def _product_features(
    events: EventArrays, row: IntArray, column: IntArray, category: IntArray, now: float
) -> ProductColumns:
    """Per column: popularity over several windows, first-time visitors, repeat rate, age, days
    since the last event, and its category's trend."""
    size = len(category)
    pair = row.astype(np.int64) * size + column
    age_of_event = (now - events.timestamp) / SECONDS_PER_DAY

    # Each (visitor, product)'s first and last event: the events sorted by pair, then time.
    # Distinct visitors, windows and repeat visits are all read off those two, where sorting
    # the pairs again for each of them (np.unique) was most of these features' time.
    order = np.lexsort((events.timestamp, pair))
    sorted_pair = pair[order]
    first = np.r_[True, sorted_pair[1:] != sorted_pair[:-1]]
    last = np.r_[sorted_pair[1:] != sorted_pair[:-1], True]
    first_age = age_of_event[order][first]
    first_column = column[order][first]
    # A pair was seen within `days` if its last event was (the youngest of its events).
    last_age = age_of_event[order][last]

    def distinct_visitors(days: float) -> FloatArray:
        return np.bincount(first_column[last_age < days], minlength=size).astype(np.float64)

    # A visitor returned to a product if its first and last events fell on different days.
    day = (events.timestamp[order] // SECONDS_PER_DAY).astype(np.int64)
    visitors_ever = np.bincount(first_column, minlength=size).astype(np.float64)
    returning = np.bincount(first_column[day[first] != day[last]], minlength=size)
    new_30 = np.bincount(first_column[first_age < 30], minlength=size).astype(np.float64)
    new_90 = np.bincount(first_column[first_age < 90], minlength=size).astype(np.float64)
    youngest = np.full(size, np.inf)
    np.minimum.at(youngest, column, age_of_event)
    oldest = np.zeros(size)
    np.maximum.at(oldest, column, age_of_event)
    categories = category.max() + 1 if size else 1
    trend = np.log1p(np.bincount(category[column[age_of_event < 14]], minlength=categories))
    trend -= np.log1p(np.bincount(category[column[age_of_event < 90]], minlength=categories))
    visitors_30 = distinct_visitors(30)
    return {
        "visitors_7_days": np.log1p(distinct_visitors(7)),
        "visitors_14_days": np.log1p(distinct_visitors(14)),
        "visitors_30_days": np.log1p(visitors_30),
        "visitors_90_days": np.log1p(distinct_visitors(90)),
        "visitors_ever": np.log1p(visitors_ever),
        "first_time_visitors_30_days": np.log1p(new_30),
        "first_time_visitors_90_days": np.log1p(new_90),
        "first_time_share_30_days": np.log1p(new_30) - np.log1p(visitors_30),
        "repeat_rate": returning / np.maximum(visitors_ever, 1.0),
        "product_age_days": oldest,
        "days_since_product_last_event": youngest,
        "category_trend": trend[category] if size else np.empty(0),
    }
