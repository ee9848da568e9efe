"""The sessions pipeline: the index of recent past sessions live recommendations look up.

Frequent (every few minutes, schedules.py) so that what shoppers did in the last hour is in
other shoppers' lists within INDEX_LAG_SECONDS. Each run rebuilds the index from the events of
the sessions' maximum age (SESSION_CONFIG), so running it twice gives the same index; the
newest snapshot serves and the one before it is kept for workers still reading it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from recommender.algorithms.sessions import session_index
from recommender.configuration import SESSION_CONFIG, SESSION_INDEX_MAX_SESSIONS
from recommender.models import PipelineKind, PipelineRun, SessionIndexSnapshot
from recommender.pipelines.runs import recorded_run
from recommender.selectors import catalog_arrays, event_arrays

# Without a maximum age, this many days are indexed (the index keeps the newest sessions).
SESSION_INDEX_ALL_DAYS = 365.0
# Snapshots kept: the serving one and the one before it.
SNAPSHOTS_KEPT = 2


def sessions_compute(*, now: datetime | None = None, queued_run: int | None = None) -> PipelineRun:
    """Rebuild the session index from the recent events and make it the served one."""
    now = now or timezone.now()
    parameters = {
        "now": now.isoformat(),
        "days": SESSION_CONFIG.max_age_days,
        "max_sessions": SESSION_INDEX_MAX_SESSIONS,
    }
    with recorded_run(PipelineKind.SESSIONS, parameters, queued_run) as recorder:
        with recorder.phase("read"):
            days = SESSION_CONFIG.max_age_days or SESSION_INDEX_ALL_DAYS
            events = event_arrays(since=now - timedelta(days=days), until=now)
            catalog = catalog_arrays()
        with recorder.phase("index"):
            index = session_index(events, catalog, max_sessions=SESSION_INDEX_MAX_SESSIONS)
            data = index.to_bytes()
        with recorder.phase("write"), transaction.atomic():
            SessionIndexSnapshot.objects.create(
                computed_at=now,
                sessions=len(index),
                products=len(index.product),
                data=data,
            )
            kept = SessionIndexSnapshot.objects.values_list("pk", flat=True)[:SNAPSHOTS_KEPT]
            SessionIndexSnapshot.objects.exclude(pk__in=list(kept)).delete()
        recorder.statistics |= {
            "events_read": len(events),
            "sessions": len(index),
            "products": len(index.product),
            "entries": int(index.matrix.nnz),
            "bytes": len(data),
        }
    return recorder.run
