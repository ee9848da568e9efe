"""A visitor's live candidates: what their current session says, in one score.

Two sources, each scaled to the visitor's best = 1: the past sessions most like the current one
(V-SKNN, sessions.py) and the item-to-item neighbours of the session's products, the last one
weighing most, with `neighbour_weight`. The neighbours catch what a basket's products go with
even when few past sessions share them; V-SKNN what whole baskets like this one held. Both the
weight and how much the result counts against the nightly lists were chosen on the validation
month under the live protocol (docs/recommender.md).

Pure: arrays in, ranked candidates (with the session product that brought each) out.
"""

from __future__ import annotations

import numpy as np

from recommender.algorithms.arrays import Catalog, Histories, Ranked
from recommender.algorithms.events import IntArray, grouped, pair_key, positions, rank_within
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.sessions import CurrentSessions, position_weights
from recommender.algorithms.tiered import (
    NEIGHBOURS_PER_EVENT,
    neighbour_contributions,
    scaled_to_best,
)


def live_blend(
    sknn: Ranked,
    sessions: CurrentSessions,
    neighbours: Neighbours,
    catalog: Catalog,
    *,
    neighbour_weight: float,
    sknn_anchor: IntArray | None = None,
) -> tuple[Ranked, IntArray]:
    """Each query's live candidates (grouped by query, best first) and each one's anchor: the
    session product that brought it (V-SKNN's, given as `sknn_anchor` aligned with `sknn`,
    else the one whose neighbours brought the most; -1 when unknown)."""
    query, product, weight = position_weights(sessions)
    history = Histories(visitor=query, product=product, weight=weight)
    if (
        neighbour_weight <= 0
        or len(query) == 0
        or len(catalog.product) == 0
        or len(neighbours) == 0
    ):
        anchor = sknn_anchor if sknn_anchor is not None else np.full(len(sknn.product), -1)
        return sknn, anchor.astype(np.int64)
    row, _, position, contribution = neighbour_contributions(
        history, neighbours, catalog, NEIGHBOURS_PER_EVENT
    )
    owner, candidate = history.visitor[row], catalog.product[position]
    pairs = grouped(owner, candidate)
    neighbour_owner, neighbour_product = pairs.keys(owner), pairs.keys(candidate)
    neighbour_score = pairs.sum(contribution)
    # The source bringing the most to each (query, candidate).
    order = np.lexsort((-contribution, candidate, owner))
    first = rank_within(pair_key(owner[order], candidate[order])) == 0
    best_source = history.product[row][order][first]
    rows = np.concatenate([sknn.group, neighbour_owner])
    products = np.concatenate([sknn.product, neighbour_product])
    scores = np.concatenate(
        [
            scaled_to_best(sknn.group, sknn.score),
            neighbour_weight * scaled_to_best(neighbour_owner, neighbour_score),
        ]
    )
    merged = grouped(rows, products)
    blended = Ranked.of(merged.keys(products), merged.sum(scores), group=merged.keys(rows))
    anchor = np.full(len(blended.product), -1, dtype=np.int64)
    keys = pair_key(blended.group, blended.product)
    neighbour_at, found = positions(pair_key(neighbour_owner, neighbour_product), keys)
    anchor[found] = best_source[neighbour_at[found]]
    if sknn_anchor is not None:
        sknn_keys = pair_key(sknn.group, sknn.product)
        order = np.argsort(sknn_keys)
        sknn_at, found = positions(sknn_keys[order], keys)
        from_sknn = np.full(len(keys), -1, dtype=np.int64)
        from_sknn[found] = sknn_anchor[order[sknn_at[found]]]
        anchor = np.where(from_sknn >= 0, from_sknn, anchor)
    return blended, anchor
