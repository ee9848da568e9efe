"""The live ranking pipeline: the request-time ranking of live candidates, learnt nightly.

It replays the orders of the last LIVE_RANKER_CONFIG.training_days as the live protocol does
(the first half of each order is the session, the rest what it should find), over an index of
the sessions before each order, and fits the classifier live recommendations score with
(recommender.algorithms.live_ranker). A run reads only events before its moment and a fixed
sample, so running it twice gives the same model; the newest snapshot serves and the one
before it is kept for workers still reading it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommender.algorithms.live_ranker import NightlyInputs, fit_live_ranker, training_orders
from recommender.algorithms.sessions import session_index
from recommender.configuration import (
    LIVE_CONTENT_NEIGHBOURS,
    LIVE_RANKER_CONFIG,
    SESSION_CONFIG,
)
from recommender.models import LiveRankerSnapshot, PipelineKind, PipelineRun, SimilarityKind
from recommender.pipelines.ranking import RANKING_HISTORY_DAYS
from recommender.pipelines.runs import ProgressCallback, recorded_run
from recommender.pipelines.sessions import SESSION_INDEX_ALL_DAYS
from recommender.selectors import catalog_arrays, event_arrays, stored_neighbours

# Snapshots kept: the serving one and the one before it.
SNAPSHOTS_KEPT = 2
# Sessions indexed for the replay: every order's past sessions up to the served maximum age.
INDEX_MAX_SESSIONS = 1_000_000


def live_ranking_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    min_orders: int | None = None,
    progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Learn the live ranking from the recent orders and make it the served one (from at least
    `min_orders` of them: LIVE_RANKER_CONFIG's by default)."""
    now = now or timezone.now()
    config = LIVE_RANKER_CONFIG
    if min_orders is not None:
        config = replace(config, min_orders=min_orders)
    parameters = {"now": now.isoformat(), **config.__dict__}
    with recorded_run(PipelineKind.LIVE_RANKING, parameters, queued_run) as recorder:
        with recorder.phase("read"):
            # The replayed orders' learned lists come from a ranking learnt at the start of
            # the training window, on the history the nightly ranking reads before it.
            start = now - timedelta(days=config.training_days)
            events = event_arrays(since=start - timedelta(days=RANKING_HISTORY_DAYS), until=now)
            catalog = catalog_arrays()
            content = stored_neighbours(SimilarityKind.CONTENT, per_product=LIVE_CONTENT_NEIGHBOURS)
        with recorder.phase("index"):
            indexed_days = SESSION_CONFIG.max_age_days or SESSION_INDEX_ALL_DAYS
            since = (start - timedelta(days=indexed_days)).timestamp()
            index = session_index(
                events.select(events.timestamp >= since),
                catalog,
                max_sessions=INDEX_MAX_SESSIONS,
            )
        with recorder.phase("learn"):
            ranker = fit_live_ranker(
                events,
                index,
                content,
                now=now.timestamp(),
                session=SESSION_CONFIG,
                config=config,
                nightly=NightlyInputs(
                    catalog=catalog,
                    content=content,
                    half_life_days=settings.RECOMMENDER_REPEAT_HALF_LIFE_DAYS,
                ),
                progress=progress,
            )
        with recorder.phase("write"), transaction.atomic():
            if ranker is not None:
                LiveRankerSnapshot.objects.create(
                    computed_at=now,
                    training_cases=ranker.training_cases,
                    training_rows=ranker.training_rows,
                    data=ranker.to_bytes(),
                )
                kept = LiveRankerSnapshot.objects.values_list("pk", flat=True)[:SNAPSHOTS_KEPT]
                LiveRankerSnapshot.objects.exclude(pk__in=list(kept)).delete()
        recorder.statistics |= {
            "events_read": len(events),
            "sessions_indexed": len(index),
            # What there was to learn from, learnt or not (against min_orders).
            "orders_available": training_orders(events, now=now.timestamp(), config=config),
            "min_orders": config.min_orders,
            "training_orders": ranker.training_cases if ranker else 0,
            "training_rows": ranker.training_rows if ranker else 0,
            # No order to learn from yet: the blend of V-SKNN and neighbours keeps serving.
            "learnt": ranker is not None,
        }
    return recorder.run
