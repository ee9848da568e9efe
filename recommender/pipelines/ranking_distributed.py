"""Scale-out: the learned ranking pipeline as Celery tasks on many workers. One task claims the
run, learns the ranker once and splits the buyers into id ranges; a chord of block tasks (any
worker, any machine) ranks each range's buyers into a staging table; the chord's body swaps
every list in at once."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
from django.db import transaction
from django.utils import timezone

from infrastructure import cache
from infrastructure.bulk import insert_frame
from recommender.algorithms.ranker import Ranker, list_owners, ranked_lists, ranker_fit
from recommender.configuration import LEARNED_LENGTH
from recommender.models import (
    LearnedRecommendation,
    PipelineKind,
    PipelineRun,
    PipelineStatus,
    RankingStagingRow,
    StagedRanker,
)
from recommender.pipelines.ranking import learned_rows, ranking_inputs
from recommender.pipelines.runs import pipeline_run_claim
from recommender.pipelines.staging import id_ranges, staged_rows_swapped, staged_run_failed


def ranking_distributed_begin(
    *, blocks: int, now: datetime | None = None
) -> tuple[PipelineRun, list[tuple[int, int]]]:
    """Claim a ranking run, learn the ranker and split the buyers into `blocks` visitor id
    ranges; no range when there is nothing to learn from (the swap then empties the lists,
    as the single-machine run does)."""
    now = now or timezone.now()
    run = pipeline_run_claim(
        kind=PipelineKind.RANKING,
        parameters={"now": now.isoformat(), "distributed_blocks": blocks},
        held=False,
    )
    try:
        started = time.perf_counter()
        events, catalog, content = ranking_inputs(now)
        read = time.perf_counter() - started
        ranker = ranker_fit(events, catalog, content, now=now.timestamp())
        buyers = list_owners(events) if ranker is not None else np.empty(0, np.int64)
        ranges = id_ranges(buyers, blocks)
        with transaction.atomic():
            if ranker is not None:
                StagedRanker.objects.create(run=run, data=ranker.to_bytes())
            run.statistics = {
                "ranges": ranges,
                "events_read": len(events),
                "learnt": ranker is not None,
                "cutoffs": ranker.cutoffs if ranker else 0,
                "training_rows": ranker.rows if ranker else 0,
                "buyers": len(buyers),
                "seconds": {
                    "read": round(read, 3),
                    "learn": round(time.perf_counter() - started - read, 3),
                },
            }
            run.save(update_fields=["statistics"])
    except Exception as error:
        ranking_distributed_fail(run_id=run.pk, error=f"Learning failed: {error!r}")
        raise
    return run, ranges


def ranking_block_compute(*, run_id: int, first_visitor: int, last_visitor: int) -> int:
    """Stage the learned lists of the buyers with ids first_visitor..last_visitor for a
    distributed run; returns the rows staged.

    Safe to run twice (a retried or redelivered task): it replaces its own range's rows. Every
    block reads the same events (up to the run's `now`) and ranks with the run's ranker.
    """
    run = PipelineRun.objects.get(pk=run_id)
    if run.status != PipelineStatus.RUNNING:
        return 0  # failed or finished meanwhile: nothing will read the staged rows
    ranker = Ranker.from_bytes(bytes(StagedRanker.objects.get(run_id=run_id).data))
    now = datetime.fromisoformat(run.parameters["now"])
    events, catalog, content = ranking_inputs(now)
    buyers = list_owners(events)
    buyers = buyers[(buyers >= first_visitor) & (buyers <= last_visitor)]
    ranked = ranked_lists(
        ranker, events, catalog, content, now=now.timestamp(), visitor_ids=buyers, k=LEARNED_LENGTH
    )
    with transaction.atomic():
        RankingStagingRow.objects.filter(
            run_id=run_id, visitor_id__gte=first_visitor, visitor_id__lte=last_visitor
        ).delete()
        return insert_frame(RankingStagingRow, learned_rows(buyers, ranked).assign(run_id=run_id))


def ranking_distributed_finish(*, run_id: int) -> PipelineRun:
    """Swap every staged list of the run into LearnedRecommendation in one transaction."""
    return staged_rows_swapped(
        run_id=run_id,
        staging=RankingStagingRow,
        target=LearnedRecommendation,
        columns=("visitor_id", "product_id", "score"),
        cleared=(StagedRanker,),
        # The learned lists are read by recommendations only, as in ranking_compute.
        generation=cache.RECOMMENDATIONS,
        statistics=lambda: {
            "visitors_with_a_list": LearnedRecommendation.objects.values("visitor_id")
            .distinct()
            .count()
        },
    )


def ranking_distributed_fail(*, run_id: int, error: str) -> None:
    """A block failed: the run fails, its staged lists and ranker go, the served lists stay."""
    staged_run_failed(run_id=run_id, error=error, staged=(RankingStagingRow, StagedRanker))
