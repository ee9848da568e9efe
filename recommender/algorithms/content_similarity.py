"""Content similarity: products described alike (TF-IDF over name, description and category).

It gives neighbours to products nobody has interacted with yet, and can be blended with the
behavioural neighbours. Product texts are turned into L2-normalised TF-IDF rows, so a row
product is the cosine. Each product's top k comes from a sparse top-n matrix product
(sparse_dot_topn: compiled, multi-threaded, and it keeps only each row's best n), a block of
products at a time: the products x products matrix is never held, not even a block's rows of
it (the dense blocks it replaced took 339 s at 100,000 products; this, about a minute).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sparse_dot_topn import sp_matmul_topn

from recommender.algorithms.events import FloatArray, IntArray, best_first, members, rank_within
from recommender.algorithms.item_similarity import Neighbours

DEFAULT_TOP_K = 20
# Products per block of the top-n product: each block is a step of the run's progress.
BLOCK_ROWS = 5_000
# Candidates kept beyond top_k, so that a cut among equal scores (identical texts) shows.
TIE_MARGIN = 20
# At most 2**24 float64 similarities (128 MiB) held at once where a product's whole row is.
BLOCK_CELLS = 2**24


@dataclass(frozen=True)
class ProductText:
    """What a product says about itself. The name counts twice: it is what a shopper reads."""

    name: str
    description: str
    category: str

    def document(self) -> str:
        return f"{self.name} {self.name} {self.category} {self.description}"


def tfidf_matrix(texts: Sequence[ProductText]) -> sp.csr_matrix:
    """One L2-normalised TF-IDF row per product (words and two-word phrases)."""
    if not texts:
        return sp.csr_matrix((0, 0))
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=1,
        # A term in most products (e.g. the store's name) says nothing about any of them.
        max_df=0.5 if len(texts) >= 10 else 1.0,
        stop_words="english",
        dtype=np.float64,
    )
    try:
        matrix: sp.csr_matrix = vectorizer.fit_transform([text.document() for text in texts])
    except ValueError:
        # Every document empty (or only stop words): no product resembles another.
        return sp.csr_matrix((len(texts), 0))
    return matrix


def content_block_size(product_count: int) -> int:
    """Products per block of the top-n product (each block is one progress step)."""
    return max(1, min(BLOCK_ROWS, product_count))


def iter_content_blocks(
    matrix: sp.csr_matrix,
    product_ids: IntArray,
    *,
    top_k: int = DEFAULT_TOP_K,
    threads: int = 1,
) -> Iterator[Neighbours]:
    """Each product's top_k most similar products (cosine > 0), a block of products at a time.

    `product_ids` (one per matrix row) must be ascending; equal scores are then ordered by
    product id, so the result is deterministic. A block's products get their best
    top_k + TIE_MARGIN candidates from a sparse top-n product on `threads` threads, which
    never holds a block's row of the catalog; a product whose cut falls among equal scores
    (more identical texts than the margin) is computed again against the whole catalog, so
    the lists are exactly those of the full product.
    """
    count = matrix.shape[0]
    keep = min(top_k, count - 1)
    if count == 0 or matrix.shape[1] == 0 or keep <= 0:
        return
    transposed = matrix.T.tocsr()
    # The product itself is among its own best candidates (cosine 1) but never kept.
    wanted = keep + TIE_MARGIN + 1
    block_size = content_block_size(count)
    for start in range(0, count, block_size):
        stop = min(start + block_size, count)
        scores = sp_matmul_topn(
            matrix[start:stop],
            transposed,
            top_n=wanted,
            threshold=0.0,
            n_threads=threads if threads > 1 else None,
        ).tocoo()
        rows = scores.row.astype(np.int64)
        columns = scores.col.astype(np.int64)
        values = np.round(scores.data, 10)
        # Products with `wanted` candidates may have lost some equal to the last one.
        full = np.bincount(rows, minlength=stop - start) >= wanted
        other = columns != rows + start
        rows, columns, values = rows[other], columns[other], values[other]
        rows, columns, values, last_tied = _best_of_candidates(
            rows, columns, values, keep, stop - start
        )
        again = np.flatnonzero(full & last_tied)
        if len(again):
            exact = _exact_best(matrix, transposed, again + start, keep)
            kept = ~members(rows, again)
            rows = np.concatenate([rows[kept], exact[0] - start])
            columns = np.concatenate([columns[kept], exact[1]])
            values = np.concatenate([values[kept], exact[2]])
            order = best_first(rows, values, columns)
            rows, columns, values = rows[order], columns[order], values[order]
        yield Neighbours(
            product=product_ids[rows + start],
            neighbour=product_ids[columns],
            score=np.clip(values, 0.0, 1.0),
            co_occurrence=np.zeros(len(rows), dtype=np.int64),
        )


def _best_of_candidates(
    rows: IntArray, columns: IntArray, values: FloatArray, keep: int, size: int
) -> tuple[IntArray, IntArray, FloatArray, npt.NDArray[np.bool_]]:
    """Each row's best `keep` candidates (score descending, ties by column), as the full
    product would choose them: among the candidates scoring at least the row's keep-th best
    score. Also, per row (indexed by row number), whether its lowest candidate scores that
    much: then an equal score may have been cut off before. Rows are numbered below `size`."""
    by_score = np.lexsort((-values, rows))
    rank = rank_within(rows[by_score])
    # The keep-th best score of each row (its lowest, for a row with fewer candidates).
    threshold = np.full(size, np.inf)
    np.minimum.at(threshold, rows, values)
    lowest = threshold.copy()
    at_keep = by_score[rank == keep - 1]
    threshold[rows[at_keep]] = values[at_keep]
    chosen = values >= threshold[rows]
    rows, columns, values = rows[chosen], columns[chosen], values[chosen]
    order = best_first(rows, values, columns)
    best = order[rank_within(rows[order]) < keep]
    return rows[best], columns[best], values[best], lowest >= threshold


def _exact_best(
    matrix: sp.csr_matrix, transposed: sp.csr_matrix, products: IntArray, keep: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """The products' (row numbers) best `keep` neighbours against the whole catalog, a few
    rows at a time so a chunk holds at most BLOCK_CELLS similarities: (row, column, score)
    grouped by row, best first, ties by column."""
    parts: list[tuple[IntArray, IntArray, FloatArray]] = []
    chunk = max(1, BLOCK_CELLS // max(matrix.shape[0], 1))
    for first in range(0, len(products), chunk):
        rows_of = products[first : first + chunk]
        scores = np.round((matrix[rows_of] @ transposed).toarray(), 10)
        scores[np.arange(len(rows_of)), rows_of] = 0.0
        row, column = np.nonzero(scores > 0)
        found = _best_of_candidates(row, column, scores[row, column], keep, len(rows_of))
        parts.append((rows_of[found[0]], found[1], found[2]))
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def content_neighbours(
    texts: Sequence[ProductText], product_ids: IntArray, *, top_k: int = DEFAULT_TOP_K
) -> Neighbours:
    """All products' content neighbours at once (for small catalogs and tests)."""
    return Neighbours.concatenate(
        list(iter_content_blocks(tfidf_matrix(texts), product_ids, top_k=top_k))
    )


@dataclass(frozen=True)
class ContentResemblance:
    """What some products' texts now say against the whole catalog: every (product, changed
    product, cosine > 0) pair, both ways, and the changed products' own best lists."""

    changed: IntArray
    # Each changed product's top_k, exactly as the full computation would give them.
    own: Neighbours
    # (product, changed product, score) for every other product resembling a changed one.
    reverse: Neighbours

    @property
    def resembling(self) -> IntArray:
        """The other products that resemble a changed one (their lists may gain it)."""
        return np.unique(self.reverse.product)


def content_resemblance(
    matrix: sp.csr_matrix, product_ids: IntArray, changed: IntArray, *, top_k: int = DEFAULT_TOP_K
) -> ContentResemblance:
    """The changed products' rows against every product (a few rows, never the catalog
    square). `product_ids` ascending, one per matrix row; changed ids missing from it (deleted
    products) are ignored."""
    changed = np.intersect1d(changed, product_ids)
    own = Neighbours.concatenate([])
    reverse = own
    if len(changed) and matrix.shape[1]:
        rows = np.searchsorted(product_ids, changed)
        scores = np.round((matrix[rows] @ matrix.T).toarray(), 10)
        scores[np.arange(len(rows)), rows] = 0.0
        # Pairs among the changed products are in their own lists, not the reverse ones.
        scores_others = scores.copy()
        scores_others[:, rows] = 0.0
        row, column = np.nonzero(scores_others > 0)
        reverse = _best_lists(product_ids[column], changed[row], scores_others[row, column])
        row, column = np.nonzero(scores > 0)
        own = _best_lists(changed[row], product_ids[column], scores[row, column]).cut(top_k)
    return ContentResemblance(changed=changed, own=own, reverse=reverse)


def content_lists_refreshed(
    resemblance: ContentResemblance, current: Neighbours, *, top_k: int = DEFAULT_TOP_K
) -> tuple[IntArray, Neighbours]:
    """The stored lists after some products' texts changed, without recomputing the catalog.

    `current` holds the stored lists of the products concerned: those resembling a changed
    product and those listing one. A changed product's list is its new one; any other
    product's list loses its old entries for the changed products and gains them at their new
    scores, cut back to top_k. Returns the products whose lists changed and those lists (a
    product whose list is now empty has no rows). Every other pair keeps the score of the last
    full run: the vocabulary's weights drift a little with each new text until the next one.
    """
    changed = resemblance.changed
    kept = ~np.isin(current.product, changed) & ~np.isin(current.neighbour, changed)
    others = Neighbours(
        current.product[kept],
        current.neighbour[kept],
        current.score[kept],
        current.co_occurrence[kept],
    )
    merged = Neighbours.concatenate([others, resemblance.reverse])
    merged = _best_lists(merged.product, merged.neighbour, merged.score).cut(top_k)
    # A product's list changed if it listed a changed product or lists one now.
    before = np.unique(current.product[np.isin(current.neighbour, changed)])
    after = np.unique(merged.product[np.isin(merged.neighbour, changed)])
    touched = np.union1d(np.union1d(before, after), changed)
    lists = Neighbours.concatenate(
        [merged.of_products(np.setdiff1d(touched, changed)), resemblance.own]
    )
    return touched, lists


def _best_lists(product: IntArray, neighbour: IntArray, score: FloatArray) -> Neighbours:
    """The pairs grouped by product, best score first, ties by neighbour id."""
    if len(product) == 0:
        return Neighbours.concatenate([])
    order = best_first(product, np.clip(score, 0.0, 1.0), neighbour)
    return Neighbours(
        product=product[order].astype(np.int64),
        neighbour=neighbour[order].astype(np.int64),
        score=np.clip(score[order], 0.0, 1.0),
        co_occurrence=np.zeros(len(order), dtype=np.int64),
    )
