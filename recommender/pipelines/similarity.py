"""The item similarity pipeline: every product's behavioural (item-to-item) neighbours."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from recommender.algorithms.behavioural import (
    SimilarityMethod,
    behavioural_blocks,
    resolved_method,
)
from recommender.algorithms.events import EventArrays
from recommender.algorithms.item_similarity import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_MIN_COMMON_VISITORS,
    DEFAULT_TOP_K,
    InteractionMatrix,
    interaction_matrix,
)
from recommender.models import PipelineKind, PipelineRun, SimilarityKind
from recommender.pipelines.neighbour_tables import CountedBlocks, similarity_replace
from recommender.pipelines.runs import ProgressCallback, recorded_run
from recommender.selectors import event_arrays

SIMILARITY_HISTORY_DAYS = 90


def similarity_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    days: int = SIMILARITY_HISTORY_DAYS,
    top_k: int = DEFAULT_TOP_K,
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS,
    block_size: int = DEFAULT_BLOCK_SIZE,
    progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Recompute every product's behavioural (item-to-item) neighbours from recent events."""
    now = now or timezone.now()
    parameters = similarity_parameters(now, days, top_k, min_common_visitors)
    parameters["block_size"] = block_size
    with recorded_run(PipelineKind.SIMILARITY, parameters, queued_run) as recorder:
        with recorder.phase("read"):
            events, interactions = similarity_window(now, days)
        method = resolved_method(
            SimilarityMethod(settings.RECOMMENDER_SIMILARITY_METHOD),
            len(interactions.product_ids),
        )
        counted = CountedBlocks(
            len(interactions.product_ids),
            block_size,
            progress,
            phase=(
                "EASE: inverting the item Gram matrix, then neighbours"
                if method == SimilarityMethod.EASE
                else "neighbours"
            ),
        )
        blocks = behavioural_blocks(
            interactions,
            method=method,
            top_k=top_k,
            min_common_visitors=min_common_visitors,
            l2=settings.RECOMMENDER_EASE_L2,
            block_size=block_size,
        )
        # Computing and writing overlap: the database inserts one block while the next is
        # computed. Readers keep seeing the old neighbours until the transaction commits.
        with recorder.phase("compute_and_write"):
            written = similarity_replace(
                blocks=counted(blocks), kind=SimilarityKind.BEHAVIOURAL, computed_at=now
            )
        recorder.statistics |= {
            "method": method.value,
            "events_read": len(events),
            "visitors": len(interactions.visitor_ids),
            "products_with_events": len(interactions.product_ids),
            "products_with_neighbours": counted.products_with_neighbours,
            "rows_written": written,
        }
    return recorder.run


def similarity_parameters(
    now: datetime, days: int, top_k: int, min_common_visitors: int
) -> dict[str, Any]:
    return {
        "now": now.isoformat(),
        "days": days,
        "top_k": top_k,
        "min_common_visitors": min_common_visitors,
        "similarity": settings.RECOMMENDER_SIMILARITY_METHOD,
        "l2": settings.RECOMMENDER_EASE_L2,
    }


def similarity_window(now: datetime, days: int) -> tuple[EventArrays, InteractionMatrix]:
    """The events a similarity run learns from, and their visitors x products matrix."""
    events = event_arrays(since=now - timedelta(days=days), until=now)
    return events, interaction_matrix(events)
