"""Content similarity: products described alike (TF-IDF over name, description and category).

It gives neighbours to products nobody has interacted with yet, and can be blended with the
behavioural neighbours. Product texts are turned into L2-normalised TF-IDF rows, so a row
product is the cosine; the products x products matrix is computed a block of rows at a time,
sized so a block holds at most BLOCK_CELLS similarities, and cut to each product's top k.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender.algorithms.events import FloatArray, IntArray, best_first, rank_within
from recommender.algorithms.item_similarity import Neighbours

DEFAULT_TOP_K = 20
# 2**24 float64 similarities (128 MiB) per block, whatever the catalog's size.
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
    """Products per block, so a block holds at most BLOCK_CELLS similarities."""
    return max(1, BLOCK_CELLS // max(product_count, 1))


def iter_content_blocks(
    matrix: sp.csr_matrix, product_ids: IntArray, *, top_k: int = DEFAULT_TOP_K
) -> Iterator[Neighbours]:
    """Each product's top_k most similar products (cosine > 0), a block of products at a time.

    `product_ids` (one per matrix row) must be ascending; equal scores are then ordered by
    product id, so the result is deterministic.
    """
    count = matrix.shape[0]
    if count == 0 or matrix.shape[1] == 0:
        return
    transposed = matrix.T.tocsc()
    block_size = content_block_size(count)
    keep = min(top_k, count - 1)
    if keep <= 0:
        return
    for start in range(0, count, block_size):
        stop = min(start + block_size, count)
        scores = (matrix[start:stop] @ transposed).toarray()
        rows = np.arange(stop - start)
        scores[rows, rows + start] = 0.0
        scores = np.round(scores, 10)
        # The best `keep` columns of each row (unordered), then ordered by score and id.
        candidates = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
        candidate_scores = np.take_along_axis(scores, candidates, axis=1)
        # A candidate tied with the cut-off may have lost to a lower id: widen ties exactly.
        threshold = candidate_scores.min(axis=1, keepdims=True)
        tied_rows, tied_columns = np.nonzero((scores >= threshold) & (scores > 0))
        tied_scores = scores[tied_rows, tied_columns]
        order = best_first(tied_rows, tied_scores, tied_columns)
        tied_rows, tied_columns, tied_scores = (
            tied_rows[order],
            tied_columns[order],
            tied_scores[order],
        )
        best = rank_within(tied_rows) < keep
        yield Neighbours(
            product=product_ids[tied_rows[best] + start],
            neighbour=product_ids[tied_columns[best]],
            score=np.clip(tied_scores[best], 0.0, 1.0),
            co_occurrence=np.zeros(int(best.sum()), dtype=np.int64),
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
