"""Which item-to-item method computes the behavioural neighbours: EASE where the catalog is
small enough for its dense inverse, cosine similarity over visitors x products beyond."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from recommender.algorithms.ease import DEFAULT_L2, EASE_MAX_PRODUCTS, iter_ease_blocks
from recommender.algorithms.events import IntArray
from recommender.algorithms.item_similarity import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_MIN_COMMON_VISITORS,
    DEFAULT_TOP_K,
    InteractionMatrix,
    Neighbours,
    iter_neighbour_blocks,
    product_columns,
)


class SimilarityMethod(StrEnum):
    AUTO = "auto"
    EASE = "ease"
    COSINE = "cosine"


def resolved_method(method: SimilarityMethod, product_count: int) -> SimilarityMethod:
    """AUTO as EASE up to EASE_MAX_PRODUCTS products with events, else COSINE."""
    if method is SimilarityMethod.AUTO:
        return (
            SimilarityMethod.EASE if product_count <= EASE_MAX_PRODUCTS else SimilarityMethod.COSINE
        )
    return method


def behavioural_blocks(
    interactions: InteractionMatrix,
    *,
    method: SimilarityMethod,
    top_k: int = DEFAULT_TOP_K,
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS,
    l2: float = DEFAULT_L2,
    block_size: int = DEFAULT_BLOCK_SIZE,
    columns: IntArray | None = None,
) -> Iterator[Neighbours]:
    """The neighbours of every product (or of the given column positions), block by block."""
    if resolved_method(method, len(interactions.product_ids)) is SimilarityMethod.EASE:
        return iter_ease_blocks(
            interactions,
            l2=l2,
            top_k=top_k,
            min_common_visitors=min_common_visitors,
            block_size=block_size,
            columns=columns,
        )
    return iter_neighbour_blocks(
        interactions,
        top_k=top_k,
        min_common_visitors=min_common_visitors,
        block_size=block_size,
        columns=columns,
    )


def behavioural_neighbours(
    interactions: InteractionMatrix,
    *,
    method: SimilarityMethod,
    top_k: int = DEFAULT_TOP_K,
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS,
    l2: float = DEFAULT_L2,
    only_products: IntArray | None = None,
) -> Neighbours:
    """behavioural_blocks in one table (of only the given products' neighbours if given)."""
    blocks = behavioural_blocks(
        interactions,
        method=method,
        top_k=top_k,
        min_common_visitors=min_common_visitors,
        l2=l2,
        columns=product_columns(interactions, only_products),
    )
    return Neighbours.concatenate(list(blocks))
