"""Scale-out: the item similarity pipeline as Celery tasks on many workers. One task claims the
run and splits the products into id ranges; a chord of block tasks (any worker, any machine)
computes each range's neighbours into a staging table; the chord's body swaps them all in at
once."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Product
from infrastructure import cache
from infrastructure.bulk import insert_frames, table_rebuilt
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
    ranges = [
        (int(part[0]), int(part[-1])) for part in np.array_split(product_ids, blocks) if len(part)
    ]
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
    staging = SimilarityStagingRow._meta.db_table
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=run_id)
        if run.status != PipelineStatus.RUNNING:
            return run  # finished already (a redelivered body) or failed
        started = time.perf_counter()
        with table_rebuilt(ItemSimilarity) as target, connection.cursor() as cursor:
            cursor.execute(
                # Only table names from the models are formatted in; values are bound.
                f'INSERT INTO "{target}" (product_id, similar_product_id, score, '  # noqa: S608
                f"co_occurrence, computed_at) SELECT product_id, similar_product_id, score, "
                f"co_occurrence, %s FROM {staging} WHERE run_id = %s",
                [run.parameters["now"], run_id],
            )
            written = cursor.rowcount
        SimilarityStagingRow.objects.filter(run_id=run_id).delete()
        run.status = PipelineStatus.SUCCEEDED
        run.finished_at = timezone.now()
        run.statistics |= {
            "rows_written": written,
            "products_with_neighbours": ItemSimilarity.objects.values("product_id")
            .distinct()
            .count(),
            "seconds": {"swap": round(time.perf_counter() - started, 3)},
        }
        run.save(update_fields=["status", "finished_at", "statistics"])
        transaction.on_commit(lambda: cache.generation_bump(cache.SIMILARITY))
    return run


def similarity_distributed_fail(*, run_id: int, error: str) -> None:
    """A block failed: the run fails, its staged rows go, the previous neighbours stay served."""
    with transaction.atomic():
        PipelineRun.objects.filter(pk=run_id, status=PipelineStatus.RUNNING).update(
            status=PipelineStatus.FAILED, finished_at=timezone.now(), error=error[-10_000:]
        )
        SimilarityStagingRow.objects.filter(run_id=run_id).delete()
