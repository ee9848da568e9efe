"""Writing a kind of neighbours (item-to-item, content, bought together): what the pipelines
that compute them share. Results are replaced in a single transaction: readers see the old
table until the new one is complete, and a failed run leaves the previous results served."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import transaction

from infrastructure import cache
from infrastructure.bulk import insert_frames, table_rebuilt
from recommender.algorithms.events import IntArray
from recommender.algorithms.item_similarity import Neighbours
from recommender.models import NEIGHBOUR_MODELS, SimilarityKind
from recommender.pipelines.runs import ProgressCallback


@dataclass
class CountedBlocks:
    """Passes neighbour blocks through, counting products and reporting progress."""

    total: int
    block_size: int
    progress: ProgressCallback | None
    # What happens before the first block arrives (a model's fit), shown until it does.
    phase: str = "neighbours"
    products_with_neighbours: int = 0

    def __call__(self, blocks: Iterable[Neighbours]) -> Iterator[Neighbours]:
        done = 0
        if self.progress:
            self.progress(done, self.total, phase=self.phase)
        for block in blocks:
            # Blocks cover disjoint product ranges, so their counts add up.
            self.products_with_neighbours += len(np.unique(block.product))
            done = min(done + self.block_size, self.total)
            if self.progress:
                self.progress(done, self.total)
            yield block


def similarity_replace(
    *, blocks: Iterable[Neighbours], kind: SimilarityKind, computed_at: datetime
) -> int:
    """Swap in one kind of neighbours in one transaction; readers never see a partial table."""
    stamp = pd.Timestamp(computed_at)

    def frames() -> Iterator[pd.DataFrame]:
        for block in blocks:
            yield pd.DataFrame(
                {
                    "product_id": block.product,
                    "similar_product_id": block.neighbour,
                    "score": block.score,
                    "co_occurrence": block.co_occurrence,
                    "computed_at": stamp,
                }
            )

    with table_rebuilt(NEIGHBOUR_MODELS[kind]) as table:
        written = insert_frames(table, frames())
        transaction.on_commit(lambda: cache.generation_bump(cache.SIMILARITY))
    return written


def similarity_lists_replace(
    *, kind: SimilarityKind, products: IntArray, lists: Neighbours, computed_at: datetime
) -> int:
    """Replace the stored lists of some products (all of `lists` belongs to them) in one
    transaction: a product of `products` absent from `lists` is left with none."""
    model = NEIGHBOUR_MODELS[kind]
    with transaction.atomic():
        model._default_manager.filter(product_id__any=products.tolist()).delete()
        written = model._default_manager.bulk_create(
            model(
                product_id=int(product),
                similar_product_id=int(neighbour),
                score=float(score),
                co_occurrence=int(co_occurrence),
                computed_at=computed_at,
            )
            for product, neighbour, score, co_occurrence in zip(
                lists.product, lists.neighbour, lists.score, lists.co_occurrence, strict=True
            )
        )
        transaction.on_commit(lambda: cache.generation_bump(cache.SIMILARITY))
    return len(written)
