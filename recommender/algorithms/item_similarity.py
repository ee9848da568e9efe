"""Item-to-item collaborative filtering: cosine similarity between products' visitor vectors.

The visitor x product matrix holds each visitor's summed event weights (view 1, add to cart 3,
purchase 5). Two products are similar when the same visitors care about both. The products x
products similarity matrix is never built whole: products are processed in blocks, each block's
rows are computed sparsely, filtered and cut to the top k, so memory is bounded by the block,
not by the catalog.

The common-visitor count is computed on integer (0/1) matrices: a boolean matrix product
saturates at True = 1, and the ">= 2 common visitors" filter would then drop every pair.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.algorithms.events import (
    EventArrays,
    FloatArray,
    IntArray,
    best_first,
    grouped,
    rank_within,
)
from recommender.algorithms.threads import BLOCK_THREADS, in_order

DEFAULT_TOP_K = 50
DEFAULT_MIN_COMMON_VISITORS = 2
DEFAULT_BLOCK_SIZE = 2_048


@dataclass(frozen=True)
class InteractionMatrix:
    """A sparse visitors x products matrix of summed event weights, with the ids of its axes."""

    matrix: sp.csr_matrix
    visitor_ids: IntArray
    product_ids: IntArray


@dataclass(frozen=True)
class Neighbours:
    """Similar-product pairs as parallel arrays of product ids, best first within each product."""

    product: IntArray
    neighbour: IntArray
    score: FloatArray
    co_occurrence: IntArray

    def __len__(self) -> int:
        return len(self.product)

    def cut(self, top_k: int) -> Neighbours:
        """The first top_k rows of each product (rows grouped by product, best first)."""
        best = rank_within(self.product) < top_k
        return Neighbours(
            self.product[best], self.neighbour[best], self.score[best], self.co_occurrence[best]
        )

    def of_products(self, product_ids: IntArray) -> Neighbours:
        """Only the rows of the given products (order kept)."""
        keep = np.isin(self.product, product_ids)
        return Neighbours(
            self.product[keep], self.neighbour[keep], self.score[keep], self.co_occurrence[keep]
        )

    @classmethod
    def concatenate(cls, parts: list[Neighbours]) -> Neighbours:
        if not parts:
            empty_int = np.empty(0, dtype=np.int64)
            return cls(empty_int, empty_int.copy(), np.empty(0, dtype=np.float64), empty_int.copy())
        return cls(
            product=np.concatenate([p.product for p in parts]),
            neighbour=np.concatenate([p.neighbour for p in parts]),
            score=np.concatenate([p.score for p in parts]),
            co_occurrence=np.concatenate([p.co_occurrence for p in parts]),
        )


def interaction_matrix(events: EventArrays) -> InteractionMatrix:
    """Sum each visitor's event weights per product into a CSR matrix (duplicates add up)."""
    visitor_ids, visitor_index = np.unique(events.visitor, return_inverse=True)
    product_ids, product_index = np.unique(events.product, return_inverse=True)
    matrix = sp.csr_matrix(
        (events.weights(), (visitor_index, product_index)),
        shape=(len(visitor_ids), len(product_ids)),
        dtype=np.float64,
    )
    matrix.sum_duplicates()
    return InteractionMatrix(matrix=matrix, visitor_ids=visitor_ids, product_ids=product_ids)


def item_neighbours(
    interactions: InteractionMatrix,
    *,
    top_k: int = DEFAULT_TOP_K,
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS,
    block_size: int = DEFAULT_BLOCK_SIZE,
    only_products: IntArray | None = None,
) -> Neighbours:
    """Each product's top_k most cosine-similar products sharing >= min_common_visitors visitors.

    `only_products` limits the computation to those products' neighbours (an evaluation needs
    only the products in its visitors' histories). Equal scores are ordered by product id, so
    the result is deterministic.
    """
    blocks = iter_neighbour_blocks(
        interactions,
        top_k=top_k,
        min_common_visitors=min_common_visitors,
        block_size=block_size,
        columns=product_columns(interactions, only_products),
    )
    return Neighbours.concatenate(list(blocks))


def product_columns(interactions: InteractionMatrix, products: IntArray | None) -> IntArray | None:
    """The matrix columns of the given products (ascending), None for all of them."""
    if products is None:
        return None
    columns: IntArray = np.flatnonzero(np.isin(interactions.product_ids, products))
    return columns


def iter_neighbour_blocks(
    interactions: InteractionMatrix,
    *,
    top_k: int = DEFAULT_TOP_K,
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS,
    block_size: int = DEFAULT_BLOCK_SIZE,
    start: int = 0,
    stop: int | None = None,
    columns: IntArray | None = None,
    threads: int = BLOCK_THREADS,
) -> Iterator[Neighbours]:
    """The neighbours of products [start, stop) (matrix columns), or of the given ascending
    column positions, one block at a time (`threads` blocks computed at once, threads.py).

    A block's rows are independent of every other block's, which is what lets separate workers
    compute separate ranges.
    """
    matrix = interactions.matrix.tocsc()
    product_count = matrix.shape[1]
    if columns is None:
        stop = product_count if stop is None else min(stop, product_count)
        columns = np.arange(start, max(start, stop), dtype=np.int64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel())
    inverse_norms = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    normalised = (matrix @ sp.diags(inverse_norms)).tocsr()
    normalised.sort_indices()
    # The same arrays with ones for values: the two block products then share their layout.
    binary = sp.csr_matrix(
        (np.ones_like(normalised.data), normalised.indices, normalised.indptr),
        shape=normalised.shape,
    )
    normalised_t, binary_t = normalised.T.tocsr(), binary.T.tocsr()
    normalised_t.sort_indices()
    binary_t.sort_indices()

    def neighbours_of(block: IntArray) -> Neighbours:
        contiguous = len(block) > 0 and block[-1] - block[0] == len(block) - 1
        rows = slice(block[0], block[-1] + 1) if contiguous else block
        scores = normalised_t[rows] @ normalised
        common = binary_t[rows] @ binary
        return _top_k_of_block(
            scores, common, interactions.product_ids, block, top_k, min_common_visitors
        )

    blocks = (columns[at : at + block_size] for at in range(0, len(columns), block_size))
    yield from in_order(neighbours_of, blocks, threads=threads)


def _top_k_of_block(
    scores: sp.csr_matrix,
    common: sp.csr_matrix,
    product_ids: IntArray,
    block: IntArray,
    top_k: int,
    min_common_visitors: int,
) -> Neighbours:
    rows, columns, score, count = _aligned_entries(scores, common)
    keep = (count >= min_common_visitors) & (block[rows] != columns) & (score > 0)
    rows, columns, score, count = rows[keep], columns[keep], score[keep], count[keep]
    # Rows ascending, then score descending, then column ascending, which is product id
    # ascending (the matrix's columns are sorted ids). Rounding first makes mathematically
    # equal cosines equal in floating point too.
    score = np.clip(np.round(score, 10), 0.0, 1.0)
    order = best_first(rows, score, columns)
    rows, columns, score, count = rows[order], columns[order], score[order], count[order]
    best = rank_within(rows) < top_k
    return Neighbours(
        product=product_ids[block[rows[best]]],
        neighbour=product_ids[columns[best]],
        score=score[best],
        co_occurrence=count[best],
    )


def _aligned_entries(
    scores: sp.csr_matrix, common: sp.csr_matrix
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """(row, column, score, common visitors) for every non-zero of the two block products.

    Both products come from the same sparsity pattern (all weights are positive), and SciPy's
    sparse product lays out its result by pattern alone, so the entries line up as they are;
    sorting them (the slow part) is only needed if that ever stops being true.
    """
    if not (
        np.array_equal(scores.indptr, common.indptr)
        and np.array_equal(scores.indices, common.indices)
    ):
        scores, common = _canonical(scores), _canonical(common)
        if not np.array_equal(scores.indices, common.indices):
            raise ValueError("similarity and co-occurrence patterns differ: non-positive weights?")
    rows = np.repeat(np.arange(scores.shape[0], dtype=np.int64), np.diff(scores.indptr))
    return (
        rows,
        scores.indices.astype(np.int64),
        scores.data.astype(np.float64),
        np.rint(common.data).astype(np.int64),
    )


def _canonical(matrix: sp.csr_matrix) -> sp.csr_matrix:
    canonical = matrix.tocsr(copy=True)
    canonical.sum_duplicates()
    canonical.sort_indices()
    return canonical


def blend_neighbours(
    behavioural: Neighbours, content: Neighbours, *, content_weight: float, top_k: int
) -> Neighbours:
    """One neighbour list per product: (1 - w) x behavioural + w x content similarity.

    Products with no behavioural neighbours (new ones, nobody interacted yet) keep their content
    neighbours at full score, whatever w: content is all that is known about them.
    """
    if not 0.0 <= content_weight <= 1.0:
        raise ValueError("content_weight must be between 0 and 1")
    cold = ~np.isin(content.product, behavioural.product)
    if content_weight == 0.0:
        # Nothing to merge: behavioural rows, and content rows of products that have none.
        cold_content = Neighbours(
            content.product[cold],
            content.neighbour[cold],
            content.score[cold],
            np.zeros(int(cold.sum()), dtype=np.int64),
        )
        both = Neighbours.concatenate([behavioural, cold_content])
        order = np.argsort(both.product, kind="stable")
        return Neighbours(
            both.product[order],
            both.neighbour[order],
            both.score[order],
            both.co_occurrence[order],
        ).cut(top_k)
    content_factor = np.where(cold, 1.0, content_weight)
    parts = [
        Neighbours(
            behavioural.product,
            behavioural.neighbour,
            behavioural.score * (1.0 - content_weight),
            behavioural.co_occurrence,
        ),
        Neighbours(
            content.product,
            content.neighbour,
            content.score * content_factor,
            np.zeros(len(content), dtype=np.int64),
        ),
    ]
    merged = Neighbours.concatenate(parts)
    keep = merged.score > 0
    if not keep.any():
        return Neighbours.concatenate([])
    product, neighbour = merged.product[keep], merged.neighbour[keep]
    pairs = grouped(product, neighbour)
    score = np.round(pairs.sum(merged.score[keep]), 10)
    co_occurrence = pairs.sum(merged.co_occurrence[keep].astype(np.float64)).astype(np.int64)
    product, neighbour = pairs.keys(product), pairs.keys(neighbour)
    # The pairs come grouped by product: number the products densely for the sort key.
    product_index = np.cumsum(np.r_[True, product[1:] != product[:-1]]) - 1
    neighbour_rank = np.unique(neighbour, return_inverse=True)[1]
    order = best_first(product_index, np.clip(score, 0.0, 1.0), neighbour_rank)
    product, neighbour, score, co_occurrence = (
        product[order],
        neighbour[order],
        score[order],
        co_occurrence[order],
    )
    return Neighbours(product, neighbour, score, co_occurrence).cut(top_k)
