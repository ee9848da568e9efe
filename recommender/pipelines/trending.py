"""The trending pipeline: 7-day and 30-day trending scores of every product with events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from django.db import transaction
from django.utils import timezone

from infrastructure import cache
from infrastructure.bulk import insert_frame, table_rebuilt
from recommender.algorithms.trending import WINDOWS, trending_scores
from recommender.models import PipelineKind, PipelineRun, TrendingScore
from recommender.pipelines.runs import recorded_run
from recommender.selectors import event_arrays, product_categories


def trending_compute(*, now: datetime | None = None, queued_run: int | None = None) -> PipelineRun:
    """Recompute the 7-day and 30-day trending scores of every product with recent events."""
    now = now or timezone.now()
    longest = max(window.days for window in WINDOWS)
    with recorded_run(PipelineKind.TRENDING, {"now": now.isoformat()}, queued_run) as recorder:
        with recorder.phase("read"):
            events = event_arrays(since=now - timedelta(days=longest), until=now)
        with recorder.phase("compute"):
            frames = []
            for window in WINDOWS:
                result = trending_scores(events, now=now.timestamp(), window=window)
                frames.append(
                    pd.DataFrame(
                        {
                            "product_id": result.product,
                            "window": window.name,
                            "score": result.score,
                            "event_count": result.event_count,
                        }
                    )
                )
            rows = pd.concat(frames, ignore_index=True)
            categories = product_categories(rows["product_id"].to_numpy())
            rows["category_id"] = categories
            rows["computed_at"] = pd.Timestamp(now)
        with recorder.phase("write"), table_rebuilt(TrendingScore) as table:
            insert_frame(table, rows)
            transaction.on_commit(lambda: cache.generation_bump(cache.TRENDING))
        recorder.statistics |= {
            "events_read": len(events),
            "rows_written": len(rows),
            "products_by_window": {w.name: int((rows["window"] == w.name).sum()) for w in WINDOWS},
        }
    return recorder.run
