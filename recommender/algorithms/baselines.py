"""Published baselines the served recommender is measured against (offline only).

Each scores every product for every evaluated visitor from the training events; `top_lists`
turns the scores into the (visitors, k) lists the evaluation's metrics read. EASE here is the
full model (every product, every history event), not the served top-k neighbour table.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.algorithms.ease import DEFAULT_L2, ease_weights
from recommender.algorithms.events import EventArrays, FloatArray, IntArray, positions
from recommender.algorithms.item_similarity import interaction_matrix
from recommender.algorithms.tiered import Catalog


def training_matrix(train: EventArrays, catalog: Catalog) -> sp.csr_matrix:
    """Binary visitors x catalog products matrix of the training events (rows: the training
    visitors, ascending ids), as most published baselines take it."""
    interactions = interaction_matrix(train)
    columns = np.searchsorted(catalog.product, interactions.product_ids)
    binary = (interactions.matrix > 0).astype(np.float64).tocoo()
    return sp.csr_matrix(
        (binary.data, (binary.row, columns[binary.col])),
        shape=(len(interactions.visitor_ids), len(catalog.product)),
    )


def training_rows(train: EventArrays, visitor_ids: IntArray) -> IntArray:
    """The training matrix's row of each evaluated visitor (-1: no training events)."""
    position, found = positions(np.unique(train.visitor), visitor_ids)
    rows: IntArray = np.where(found, position, -1)
    return rows


def history_rows(matrix: sp.csr_matrix, rows: IntArray) -> sp.csr_matrix:
    """The evaluated visitors' rows of the training matrix (empty for rows of -1)."""
    padded = sp.vstack([matrix, sp.csr_matrix((1, matrix.shape[1]))]).tocsr()
    history: sp.csr_matrix = padded[np.where(rows >= 0, rows, matrix.shape[0])]
    return history


def popularity_scores(matrix: sp.csr_matrix, visitors: int) -> FloatArray:
    """Every visitor gets the products by how many training visitors interacted with them."""
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    scores: FloatArray = np.tile(counts, (visitors, 1))
    return scores


def ease_scores(
    matrix: sp.csr_matrix, history: sp.csr_matrix, *, l2: float = DEFAULT_L2
) -> FloatArray:
    """EASE (Steck 2019) trained on the whole matrix, scored from each visitor's history."""
    weights, _ = ease_weights(matrix, l2=l2)
    scores: FloatArray = np.asarray(history @ weights)
    return scores


def top_lists(
    scores: FloatArray,
    catalog: Catalog,
    k: int,
    *,
    exclude: sp.csr_matrix | None = None,
) -> IntArray:
    """The k best available products of each row as product ids, -1 padded; products in
    `exclude` (a visitors x catalog matrix, e.g. the histories) are left out."""
    scores = np.array(scores, dtype=np.float64)
    scores[:, ~catalog.available] = -np.inf
    if exclude is not None:
        rows, columns = exclude.nonzero()
        scores[rows, columns] = -np.inf
    k = min(k, scores.shape[1])
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(best, order, axis=1)
    lists: IntArray = np.where(
        np.isfinite(np.take_along_axis(scores, best, axis=1)), catalog.product[best], -1
    )
    return lists
