"""The content similarity pipeline: every product's neighbours by what its text says."""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
from django.utils import timezone

from recommender.algorithms.content_similarity import (
    content_block_size,
    content_lists_refreshed,
    content_resemblance,
    iter_content_blocks,
    tfidf_matrix,
)
from recommender.models import PipelineKind, PipelineRun, SimilarityKind
from recommender.pipelines.neighbour_tables import (
    CountedBlocks,
    similarity_lists_replace,
    similarity_replace,
)
from recommender.pipelines.runs import ProgressCallback, recorded_run
from recommender.selectors import product_texts
from recommender.selectors.neighbours import neighbours_listing, stored_neighbours

CONTENT_TOP_K = 20


def content_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    top_k: int = CONTENT_TOP_K,
    progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Recompute every product's content (TF-IDF) neighbours from the catalog's texts."""
    now = now or timezone.now()
    with recorded_run(
        PipelineKind.CONTENT, {"now": now.isoformat(), "top_k": top_k}, queued_run
    ) as recorder:
        with recorder.phase("read"):
            product_ids, texts = product_texts()
        with recorder.phase("vectorise"):
            matrix = tfidf_matrix(texts)
        counted = CountedBlocks(len(product_ids), content_block_size(len(product_ids)), progress)
        with recorder.phase("compute_and_write"):
            written = similarity_replace(
                blocks=counted(
                    iter_content_blocks(matrix, product_ids, top_k=top_k, threads=_threads())
                ),
                kind=SimilarityKind.CONTENT,
                computed_at=now,
            )
        recorder.statistics |= {
            "products": len(product_ids),
            "terms": int(matrix.shape[1]),
            "products_with_neighbours": counted.products_with_neighbours,
            "rows_written": written,
        }
    return recorder.run


def _threads() -> int:
    """The cores this process may run on: a pipeline has the worker's machine to itself."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def content_refresh(
    *,
    product_ids: list[int],
    now: datetime | None = None,
    top_k: int = CONTENT_TOP_K,
) -> PipelineRun:
    """Give new or re-described products their content neighbours now, and put them in the
    lists of the products they resemble, without the night's catalog-square computation: the
    changed products' rows against every product (recommender.algorithms.content_similarity).
    A run of the content pipeline like the nightly one (never at the same time as it); safe
    to run twice (the same texts give the same lists)."""
    now = now or timezone.now()
    changed = np.unique(np.array(product_ids, dtype=np.int64))
    parameters = {"now": now.isoformat(), "top_k": top_k, "products": changed.tolist()}
    with recorded_run(PipelineKind.CONTENT, parameters, None) as recorder:
        with recorder.phase("read"):
            ids, texts = product_texts()
        with recorder.phase("vectorise"):
            matrix = tfidf_matrix(texts)
        with recorder.phase("compute_and_write"):
            resemblance = content_resemblance(matrix, ids, changed, top_k=top_k)
            concerned = np.union1d(
                resemblance.resembling,
                neighbours_listing(SimilarityKind.CONTENT, products=resemblance.changed),
            )
            current = stored_neighbours(
                SimilarityKind.CONTENT, per_product=top_k, products=concerned
            )
            touched, lists = content_lists_refreshed(resemblance, current, top_k=top_k)
            written = similarity_lists_replace(
                kind=SimilarityKind.CONTENT, products=touched, lists=lists, computed_at=now
            )
        recorder.statistics |= {
            "refreshed_products": len(resemblance.changed),
            "products": len(ids),
            "lists_changed": len(touched),
            "rows_written": written,
        }
    return recorder.run
