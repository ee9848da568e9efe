"""The bought together pipeline: products bought in the same baskets."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from recommender.algorithms import bought_together
from recommender.algorithms.item_similarity import DEFAULT_BLOCK_SIZE, iter_neighbour_blocks
from recommender.models import PipelineKind, PipelineRun, SimilarityKind
from recommender.pipelines.neighbour_tables import CountedBlocks, similarity_replace
from recommender.pipelines.runs import ProgressCallback, recorded_run
from recommender.selectors import event_arrays
from tracking.models import EventType

# Purchases are a few percent of events, so baskets are learned from a longer history.
BOUGHT_TOGETHER_HISTORY_DAYS = 365


def bought_together_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    days: int = BOUGHT_TOGETHER_HISTORY_DAYS,
    top_k: int = bought_together.DEFAULT_TOP_K,
    min_baskets: int = bought_together.DEFAULT_MIN_BASKETS,
    progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Recompute every product's "frequently bought together" products from recent purchases."""
    now = now or timezone.now()
    parameters = {"now": now.isoformat(), "days": days, "top_k": top_k, "min_baskets": min_baskets}
    with recorded_run(PipelineKind.BOUGHT_TOGETHER, parameters, queued_run) as recorder:
        with recorder.phase("read"):
            purchases = event_arrays(
                since=now - timedelta(days=days), until=now, event_types=[EventType.PURCHASE]
            )
            baskets = bought_together.basket_matrix(purchases)
        counted = CountedBlocks(len(baskets.product_ids), DEFAULT_BLOCK_SIZE, progress)
        blocks = iter_neighbour_blocks(baskets, top_k=top_k, min_common_visitors=min_baskets)
        with recorder.phase("compute_and_write"):
            written = similarity_replace(
                blocks=counted(blocks), kind=SimilarityKind.BOUGHT_TOGETHER, computed_at=now
            )
        recorder.statistics |= {
            "purchases_read": len(purchases),
            "baskets": len(baskets.visitor_ids),
            "products_bought": len(baskets.product_ids),
            "products_with_neighbours": counted.products_with_neighbours,
            "rows_written": written,
        }
    return recorder.run
