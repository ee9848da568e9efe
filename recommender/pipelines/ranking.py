"""The learned ranking pipeline: relearn the ranker and store each returning buyer's list."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from infrastructure import cache
from infrastructure.bulk import insert_frame, table_rebuilt
from recommender.algorithms.events import EventArrays, IntArray
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.progress import progress_offset
from recommender.algorithms.ranker import (
    RankerConfig,
    fit_units,
    list_owners,
    rank_units,
    ranked_lists,
    ranker_fit,
    training_cutoffs,
)
from recommender.algorithms.tiered import Catalog, Ranked
from recommender.configuration import LEARNED_LENGTH
from recommender.models import LearnedRecommendation, PipelineKind, PipelineRun, SimilarityKind
from recommender.pipelines.content import CONTENT_TOP_K
from recommender.pipelines.runs import ProgressCallback, recorded_run
from recommender.selectors import catalog_arrays, event_arrays, stored_neighbours

# The ranker learns from weekly cut-offs over months of history, and reads product popularity
# "ever": a year and a month of events.
RANKING_HISTORY_DAYS = 400


def ranking_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Learn the ranker from the store's past and store each returning buyer's best new
    products (recommender.algorithms.ranker); no list at all while the store has too little
    history to learn from."""
    now = now or timezone.now()
    config = RankerConfig()
    with recorded_run(PipelineKind.RANKING, {"now": now.isoformat()}, queued_run) as recorder:
        with recorder.phase("read"):
            events, catalog, content = ranking_inputs(now)
        # The bar counts each training cut-off's features, each step of the fit, the ranking
        # snapshot and each chunk of buyers ranked: it moves through every phase.
        cutoffs = len(training_cutoffs(events, now=now.timestamp(), config=config))
        buyers = list_owners(events)
        learning = fit_units(cutoffs)
        total = learning + rank_units(len(buyers), config)
        with recorder.phase("learn"):
            ranker = ranker_fit(
                events,
                catalog,
                content,
                now=now.timestamp(),
                config=config,
                progress=progress_offset(progress, 0, total),
            )
        with recorder.phase("rank"):
            ranked = (
                ranked_lists(
                    ranker,
                    events,
                    catalog,
                    content,
                    now=now.timestamp(),
                    visitor_ids=buyers,
                    k=LEARNED_LENGTH,
                    progress=progress_offset(progress, learning, total),
                )
                if ranker is not None
                else Ranked.empty()
            )
        if progress:
            progress(total, total, phase="writing the lists")
        rows = learned_rows(buyers, ranked).assign(computed_at=pd.Timestamp(now))
        with recorder.phase("write"), table_rebuilt(LearnedRecommendation) as table:
            insert_frame(table, rows)
            # The learned lists are read by recommendations only: similar-products lists and
            # the per-product neighbour lists stay cached.
            transaction.on_commit(lambda: cache.generation_bump(cache.RECOMMENDATIONS))
        recorder.statistics |= {
            "events_read": len(events),
            "learnt": ranker is not None,
            "cutoffs": ranker.cutoffs if ranker else 0,
            "training_candidates": ranker.candidates if ranker else 0,
            "training_rows": ranker.rows if ranker else 0,
            "training_positives": ranker.positives if ranker else 0,
            "buyers": len(buyers),
            "visitors_with_a_list": len(np.unique(ranked.group)),
            "rows_written": len(rows),
        }
    return recorder.run


def ranking_inputs(now: datetime) -> tuple[EventArrays, Catalog, Neighbours]:
    """What the ranker reads as of `now`: the events of the history it learns from, the
    catalog and the content neighbours."""
    events = event_arrays(since=now - timedelta(days=RANKING_HISTORY_DAYS), until=now)
    return (
        events,
        catalog_arrays(),
        stored_neighbours(SimilarityKind.CONTENT, per_product=CONTENT_TOP_K),
    )


def learned_rows(buyers: IntArray, ranked: Ranked) -> pd.DataFrame:
    """The ranked lists as rows, each grouped by its buyer's position in `buyers`."""
    return pd.DataFrame(
        {"visitor_id": buyers[ranked.group], "product_id": ranked.product, "score": ranked.score}
    )
