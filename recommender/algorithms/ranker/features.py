"""Each visitor's candidates and their features, read from a snapshot.

Every feature is built as a named column and the matrix is stacked in FEATURES order by name,
so adding or reordering a feature cannot shift another's column: a name missing from or
extra to FEATURES is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.algorithms.events import (
    PURCHASE,
    SECONDS_PER_DAY,
    FloatArray,
    IntArray,
    positions,
)
from recommender.algorithms.ranker.snapshot import Snapshot, binary

# The classifier's columns, in order. Product and visitor features are described where they
# are computed (snapshot._product_features, _visitor_features below).
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


@dataclass(frozen=True)
class Candidates:
    """Candidate rows: the visitor's position in the visitor ids, the product id, features."""

    visitor: IntArray
    product: IntArray
    features: FloatArray


def stacked(columns: dict[str, FloatArray]) -> FloatArray:
    """The named columns as a matrix in FEATURES order."""
    if set(columns) != set(FEATURES):
        missing, extra = set(FEATURES) - set(columns), set(columns) - set(FEATURES)
        raise ValueError(f"Features missing: {sorted(missing)}; unknown: {sorted(extra)}")
    return np.column_stack([columns[name] for name in FEATURES])


def candidates(snapshot: Snapshot, visitor_ids: IntArray) -> Candidates:
    """Each visitor's candidates (available products new to them: EASE's best, the month's
    most popular, the best of similar visitors and of the transition model) and their
    features; visitors without events in the snapshot have none."""
    config, size = snapshot.config, snapshot.size
    if size == 0 or len(visitor_ids) == 0:
        return Candidates(
            np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, len(FEATURES)))
        )
    events = snapshot.events
    row, known = positions(snapshot.visitor_ids, visitor_ids)
    visitors = np.flatnonzero(known)
    mine = np.isin(snapshot.row, row[visitors])
    local = np.searchsorted(row[visitors], snapshot.row[mine])
    events_age = (snapshot.now - events.timestamp[mine]) / SECONDS_PER_DAY

    def history(mask: np.ndarray) -> sp.csr_matrix:
        return binary(local[mask], snapshot.column[mine][mask], (len(visitors), size))

    purchase = events.event_type[mine] == PURCHASE
    last_purchase = np.full(len(visitors), -np.inf)
    np.maximum.at(last_purchase, local[purchase], events.timestamp[mine][purchase])
    in_last_order = purchase & (events.timestamp[mine] == last_purchase[local])
    seen, last_order = history(np.ones(len(local), dtype=bool)), history(in_last_order)
    scores = {
        "ease_history": seen @ snapshot.weights,
        "ease_last_order": last_order @ snapshot.weights,
        "recent_ease_history": seen @ snapshot.recent_weights,
        "recent_ease_last_30_days": history(events_age < 30) @ snapshot.recent_weights,
        "recent_ease_last_order": last_order @ snapshot.recent_weights,
        "content_history": (seen @ snapshot.content).toarray(),
        "content_last_order": (last_order @ snapshot.content).toarray(),
        "similar_visitors_recent": _similar_visitors(snapshot, row[visitors]),
        "transition": seen @ snapshot.transition,
    }
    # What may be recommended: available, never interacted with (EASE's score, -inf otherwise).
    ease = np.array(scores["ease_history"], dtype=np.float64)
    ease[:, ~snapshot.available] = -np.inf
    seen_rows, seen_columns = seen.nonzero()
    ease[seen_rows, seen_columns] = -np.inf
    # Each column's rank in its row: the inverse of the row's order, scattered (a second
    # sort of the order would cost as much again).
    order = np.argsort(-ease, axis=1, kind="stable")
    ease_rank = np.empty_like(order)
    np.put_along_axis(ease_rank, order, np.arange(size)[None, :], axis=1)
    popular = np.log1p(snapshot.product_features["visitors_30_days"])
    popular = np.where(snapshot.available, popular, -np.inf)
    most_popular = np.zeros(size, dtype=bool)
    most_popular[np.argsort(-popular, kind="stable")[: config.popular_candidates]] = True
    chosen = (
        (ease_rank < config.ease_candidates)
        | most_popular[None, :]
        | _best_of_rows(scores["similar_visitors_recent"], ease, config.similar_visitor_candidates)
        | _best_of_rows(scores["transition"], ease, config.transition_candidates)
    )
    chosen &= np.isfinite(ease)
    visitor, column = np.nonzero(chosen)
    columns: dict[str, FloatArray] = {
        name: np.asarray(score)[visitor, column] for name, score in scores.items()
    }
    columns["ease_rank"] = ease_rank[visitor, column].astype(np.float64)
    columns |= {name: values[column] for name, values in snapshot.product_features.items()}
    columns |= _visitor_features(snapshot, local, mine, len(visitors), seen, column, visitor)
    return Candidates(
        visitor=np.flatnonzero(known)[visitor],
        product=snapshot.product_ids[column],
        features=stacked(columns),
    )


def _best_of_rows(scores: np.ndarray, allowed: FloatArray, count: int) -> np.ndarray:
    """Per row, the `count` best-scored columns among those `allowed` holds finite."""
    masked = np.where(np.isfinite(allowed), np.asarray(scores), -np.inf)
    best = np.zeros(masked.shape, dtype=bool)
    count = min(count, masked.shape[1])
    if count:
        top = np.argpartition(-masked, count - 1, axis=1)[:, :count]
        np.put_along_axis(best, top, True, axis=1)
    return best


def _similar_visitors(snapshot: Snapshot, rows: IntArray) -> FloatArray:
    """What the rows' most alike visitors (cosine) interacted with lately, weighted by
    likeness."""
    # Kept sparse: made dense, a chunk's likeness is 1,000 x every visitor (400 MB at 50,000
    # visitors), and finding each row's best there cost a second per chunk where its few
    # thousand nonzero entries take milliseconds.
    likeness = sp.csr_matrix(snapshot.normalised[rows] @ snapshot.normalised.T)
    starts = likeness.indptr
    row_of = np.repeat(np.arange(len(rows)), np.diff(starts))
    likeness.data[likeness.indices == rows[row_of]] = 0.0  # nobody is alike themselves
    keep = min(snapshot.config.similar_visitors, likeness.shape[1] - 1)
    if keep > 0:
        # Each row's keep-th highest likeness, 0 where fewer are nonzero (as among all the
        # row's columns, the others being 0); lower ones are dropped, ties kept.
        threshold = np.zeros(len(rows))
        for row in np.flatnonzero(np.diff(starts) >= keep):
            alike = likeness.data[starts[row] : starts[row + 1]]
            threshold[row] = -np.partition(-alike, keep - 1)[keep - 1]
        likeness.data[likeness.data < threshold[row_of]] = 0.0
    likeness.eliminate_zeros()
    # Columns ascending, so each score adds its terms in the same order as ever.
    likeness.sort_indices()
    # Sparse by sparse: the recent events of every visitor made dense would be visitors x
    # products (1 GB at 50,000 visitors and 5,000 products).
    scores: FloatArray = (likeness @ snapshot.recently).toarray()
    return scores


def _visitor_features(
    snapshot: Snapshot,
    local: IntArray,
    mine: np.ndarray,
    visitors: int,
    seen: sp.csr_matrix,
    column: IntArray,
    visitor: IntArray,
) -> dict[str, FloatArray]:
    """Per candidate row: the visitor's share of products in the candidate's category, days
    since their last and first event, their orders (distinct purchase times), products."""
    timestamp = snapshot.events.timestamp[mine]
    last = np.full(visitors, -np.inf)
    np.maximum.at(last, local, timestamp)
    first = np.full(visitors, np.inf)
    np.minimum.at(first, local, timestamp)
    purchase = snapshot.events.event_type[mine] == PURCHASE
    purchase_times = np.unique(np.column_stack([local[purchase], timestamp[purchase]]), axis=0)
    orders = np.bincount(purchase_times[:, 0].astype(np.int64), minlength=visitors)
    products = np.asarray(seen.sum(axis=1)).ravel()
    size, categories = snapshot.size, int(snapshot.category.max()) + 1
    in_category = sp.csr_matrix(
        (np.ones(size), (np.arange(size), snapshot.category)), shape=(size, categories)
    )
    by_category = (seen @ in_category).toarray() / np.maximum(products[:, None], 1.0)
    return {
        "visitor_category_share": by_category[visitor, snapshot.category[column]],
        "visitor_days_since_last_event": (snapshot.now - last[visitor]) / SECONDS_PER_DAY,
        "visitor_age_days": (snapshot.now - first[visitor]) / SECONDS_PER_DAY,
        "visitor_orders": orders[visitor],
        "visitor_products": products[visitor],
    }
