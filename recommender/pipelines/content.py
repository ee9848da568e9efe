"""The content similarity pipeline: every product's neighbours by what its text says."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from recommender.algorithms.content_similarity import (
    content_block_size,
    iter_content_blocks,
    tfidf_matrix,
)
from recommender.models import PipelineKind, PipelineRun, SimilarityKind
from recommender.pipelines.neighbour_tables import CountedBlocks, similarity_replace
from recommender.pipelines.runs import ProgressCallback, recorded_run
from recommender.selectors import product_texts

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
                blocks=counted(iter_content_blocks(matrix, product_ids, top_k=top_k)),
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
