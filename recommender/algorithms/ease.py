"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): item-to-item
weights in closed form.

With X the binary visitors x products matrix, G = XᵀX + λI and P = G⁻¹, the weights are
B = -P / diag(P) (column-wise) with a zero diagonal: the ridge regression predicting each
product from all the others. The served weights are B divided by one constant (_typical_best),
which changes no ranking. A visitor's score for product j is Σᵢ xᵢ·B[i, j], so row i of B
is what history product i contributes to each candidate: exactly the shape of a neighbour
table, which the served recommender already aggregates per history event. Only the best
positive weights of each row are kept (negative ones say "not this", which a top-k list
never needs).

The inverse is dense (products²), so EASE is for catalogs of up to EASE_MAX_PRODUCTS products
with events; beyond that the cosine neighbours (item_similarity) take over.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from recommender.algorithms.events import IntArray, best_first, rank_within
from recommender.algorithms.item_similarity import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_MIN_COMMON_VISITORS,
    DEFAULT_TOP_K,
    InteractionMatrix,
    Neighbours,
)
from recommender.algorithms.threads import BLOCK_THREADS, in_order

# 10,000 products: about 2 GB at the peak (the Gram matrix, its inverse and the pair counts),
# a minute on one core.
EASE_MAX_PRODUCTS = 10_000
_MIRROR_ROWS = 1_024
# Chosen on the validation month of the UCI Online Retail data (docs/recommender.md).
DEFAULT_L2 = 200.0


def ease_weights(
    matrix: sp.csr_matrix, *, l2: float = DEFAULT_L2
) -> tuple[np.ndarray, sp.csr_matrix]:
    """The products x products EASE weights B (zero diagonal, float32) of a visitors x products
    matrix taken as binary, and how many visitors interacted with each pair (a sparse matrix
    of float32 counts with sorted indices, exact below 2²⁴ visitors).

    The counts stay sparse: a dense copy was as large as the weights (400 MB at 10,000
    products) and took a second to make, for pairs most of which no visitor shares."""
    binary = (matrix > 0).astype(np.float32)
    common = sp.csr_matrix(binary.T @ binary)
    common.sort_indices()
    gram = common.toarray()
    gram[np.diag_indices_from(gram)] += l2
    weights = spd_inverse(gram)
    # In place: B = -P / diag(P), column by column.
    weights /= -np.diag(weights).copy()
    weights[np.diag_indices_from(weights)] = 0.0
    return weights, common


def spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite float32 matrix (overwritten), by Cholesky.

    Single precision and the Cholesky factor make it about 3x faster than a float64 LU
    inverse at 3,600 products (and half the memory); the ridge keeps the matrix far from
    singular, so the weights agree with it within 1e-5 of the largest (test_ease)."""
    # LAPACK overwrites only a column-major array; SciPy copies a row-major one first (400 MB
    # at 10,000 products). A symmetric matrix is its own transpose, and the transpose of a
    # row-major array is a column-major view of the same memory.
    if matrix.flags.c_contiguous:
        matrix = matrix.T
    factor, info = lapack.spotrf(matrix, lower=False, overwrite_a=True)
    if info == 0:
        inverse: np.ndarray
        inverse, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"Not positive definite (LAPACK info {info})")
    # spotri fills the upper triangle only: mirror it, a band of rows at a time (index
    # arrays for the whole triangle would cost more memory than the matrix).
    for start in range(0, len(inverse), _MIRROR_ROWS):
        stop = min(start + _MIRROR_ROWS, len(inverse))
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        block = inverse[start:stop, start:stop]
        block[...] = np.triu(block) + np.triu(block, 1).T
    return inverse


def iter_ease_blocks(
    interactions: InteractionMatrix,
    *,
    l2: float = DEFAULT_L2,
    top_k: int = DEFAULT_TOP_K,
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS,
    block_size: int = DEFAULT_BLOCK_SIZE,
    columns: IntArray | None = None,
    threads: int = BLOCK_THREADS,
) -> Iterator[Neighbours]:
    """Each product's top_k positive EASE weights among the products sharing at least
    min_common_visitors visitors with it (as the cosine neighbours require), of the given
    ascending column positions, else of every product; one block of products at a time
    (`threads` at once, threads.py), best first within each product. `co_occurrence` counts
    the visitors of both products.
    """
    product_count = len(interactions.product_ids)
    if product_count > EASE_MAX_PRODUCTS:
        raise ValueError(
            f"EASE needs a dense {product_count:,}² matrix; use the cosine neighbours above "
            f"{EASE_MAX_PRODUCTS:,} products."
        )
    if product_count == 0:
        return
    weights, common = ease_weights(interactions.matrix, l2=l2)
    weights /= _typical_best(weights)
    if columns is None:
        columns = np.arange(product_count, dtype=np.int64)

    def neighbours_of(block: IntArray) -> Neighbours:
        # The candidates are the pairs enough visitors share, read off the sparse counts
        # (a dense mask over every pair of the block cost more than the rest of the block).
        shared = common[block]
        rows = np.repeat(np.arange(len(block)), np.diff(shared.indptr))
        enough = shared.data >= min_common_visitors
        rows, candidates, counts = rows[enough], shared.indices[enough], shared.data[enough]
        score = weights[block[rows], candidates]
        positive = np.flatnonzero(score > 0)
        order = positive[best_first(rows[positive], score[positive], candidates[positive])]
        rows, candidates, counts, score = (
            rows[order],
            candidates[order],
            counts[order],
            score[order],
        )
        best = rank_within(rows) < top_k
        return Neighbours(
            product=interactions.product_ids[block[rows[best]]],
            neighbour=interactions.product_ids[candidates[best]],
            score=score[best].astype(np.float64),
            co_occurrence=np.rint(counts[best]).astype(np.int64),
        )

    blocks = (columns[at : at + block_size] for at in range(0, len(columns), block_size))
    yield from in_order(neighbours_of, blocks, threads=threads)


def _typical_best(weights: np.ndarray) -> float:
    """The 99th percentile of the products' best weights: divided by it, EASE scores sit on the
    cosine neighbours' scale (a product's best neighbour near 1), so content neighbours (cosine)
    can stand in for products with no behavioural ones, and the best-first sort (which compares
    scores within [0, 1]) orders all but the top 1% of products' first neighbours exactly."""
    best = weights.max(axis=1)
    best = best[best > 0]
    return float(np.percentile(best, 99)) if len(best) else 1.0
