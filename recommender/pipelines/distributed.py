"""Scale-out: the item similarity pipeline as Celery tasks on many workers. One task claims the
run and splits the products into id ranges; a chord of block tasks (any worker, any machine)
computes each range's neighbours into a staging table; the chord's body swaps them all in at
once."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from infrastructure import cache
from infrastructure.bulk import insert_frames
from recommender.algorithms.item_similarity import (
    DEFAULT_MIN_COMMON_VISITORS,
    DEFAULT_TOP_K,
    iter_neighbour_blocks,
)
from recommender.models import (
    ItemSimilarity,
    PipelineKind,
    PipelineRun,
    PipelineStatus,
    SimilarityStagingRow,
)
from recommender.pipelines.runs import pipeline_run_claim
from recommender.pipelines.similarity import (
    SIMILARITY_HISTORY_DAYS,
    similarity_parameters,
    similarity_window,
)
from recommender.pipelines.staging import id_ranges, staged_rows_swapped, staged_run_failed


def similarity_distributed_begin(
    *,
    blocks: int,
    now: datetime | None = None,
    days: int = SIMILARITY_HISTORY_DAYS,
    top_k: int = DEFAULT_TOP_K,
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS,
) -> tuple[PipelineRun, list[tuple[int, int]]]:
    """Claim a similarity run and split the catalog into `blocks` product id ranges."""
    now = now or timezone.now()
    parameters = similarity_parameters(now, days, top_k, min_common_visitors)
    parameters["distributed_blocks"] = blocks
    run = pipeline_run_claim(kind=PipelineKind.SIMILARITY, parameters=parameters, held=False)
    product_ids = np.fromiter(Product.objects.order_by("id").values_list("id", flat=True), np.int64)
    ranges = id_ranges(product_ids, blocks)
    run.statistics = {"ranges": ranges}
    run.save(update_fields=["statistics"])
    return run, ranges


def similarity_block_compute(*, run_id: int, first_product: int, last_product: int) -> int:
    """Stage the neighbours of products first_product..last_product for a distributed run.

    Safe to run twice (a retried or redelivered task): it replaces its own range's rows. Every
    block task reads the same events (the run's fixed time window) and builds the same matrix.
    """
    run = PipelineRun.objects.get(pk=run_id)
    if run.status != PipelineStatus.RUNNING:
        return 0  # failed or abandoned meanwhile: nothing will read the staged rows
    parameters = run.parameters
    _, interactions = similarity_window(
        datetime.fromisoformat(parameters["now"]), parameters["days"]
    )
    ids = interactions.product_ids
    columns = np.flatnonzero((ids >= first_product) & (ids <= last_product))
    blocks = iter_neighbour_blocks(
        interactions,
        top_k=parameters["top_k"],
        min_common_visitors=parameters["min_common_visitors"],
        columns=columns,
        # One core per block task: a distributed run scales by worker processes, each
        # computing its own range (docs/scaling.md measures them so).
        threads=1,
    )
    frames = (
        pd.DataFrame(
            {
                "run_id": run_id,
                "product_id": block.product,
                "similar_product_id": block.neighbour,
                "score": block.score,
                "co_occurrence": block.co_occurrence,
            }
        )
        for block in blocks
    )
    with transaction.atomic():
        SimilarityStagingRow.objects.filter(
            run_id=run_id, product_id__gte=first_product, product_id__lte=last_product
        ).delete()
        return insert_frames(SimilarityStagingRow, frames)


def similarity_distributed_finish(*, run_id: int) -> PipelineRun:
    """Swap every staged block of the run into ItemSimilarity in one transaction."""
    return staged_rows_swapped(
        run_id=run_id,
        staging=SimilarityStagingRow,
        target=ItemSimilarity,
        columns=("product_id", "similar_product_id", "score", "co_occurrence"),
        generation=cache.SIMILARITY,
        statistics=lambda: {
            "products_with_neighbours": ItemSimilarity.objects.values("product_id")
            .distinct()
            .count()
        },
    )


def similarity_distributed_fail(*, run_id: int, error: str) -> None:
    """A block failed: the run fails, its staged rows go, the previous neighbours stay served."""
    staged_run_failed(run_id=run_id, error=error, staged=(SimilarityStagingRow,))
