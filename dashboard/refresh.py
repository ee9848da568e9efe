"""The overview as the page reads it: stale while it is revalidated in the background."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from dashboard.overview import (
    OVERVIEW_FRESH_SECONDS,
    OVERVIEW_KEEP_SECONDS,
    overview_compute,
    overview_key,
)
from dashboard.selectors import Overview, Period
from dashboard.tasks import refresh_overview

logger = logging.getLogger(__name__)


def overview(period: Period, *, now: datetime | None = None) -> Overview:
    """The period's overview from the cache. Older than a minute, it is still returned at once
    and a refresh is enqueued (one per minute and period), so the page never waits on
    aggregating millions of events; only with nothing cached (a first visit, a flush) is it
    computed while the operator waits."""
    cached: Overview | None = cache.get(overview_key(period))
    if cached is None:
        cached = overview_compute(period, now=now)
        cache.set(overview_key(period), cached, timeout=OVERVIEW_KEEP_SECONDS)
        return cached
    age = timezone.localtime(now) - cached.computed_at
    refreshing = f"{overview_key(period)}:refreshing"
    if age.total_seconds() > OVERVIEW_FRESH_SECONDS and cache.add(
        refreshing, True, timeout=OVERVIEW_FRESH_SECONDS
    ):
        try:
            refresh_overview.apply_async(args=(str(period),), expires=OVERVIEW_FRESH_SECONDS)
        except Exception:  # the broker is down: show what there is, retry next minute
            logger.exception("Could not enqueue the dashboard refresh of %s", period)
    return cached
