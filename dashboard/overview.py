"""The overview page's figures, and how long they are kept in the cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from django.core.cache import cache
from django.utils import timezone

from dashboard.selectors import (
    Overview,
    Period,
    catalog_coverage,
    events_per_day,
    period_span,
    quality_history,
    recommendation_clicks,
    revenue_per_day,
    store_figures,
    top_products,
    trending_by_category,
)
from infrastructure import cache as generations
from tracking.attribution import shelf_figures

# The figures shown are at most this old while someone looks (a minute: fresh enough to watch
# the day's sales, rare enough not to aggregate millions of events per page view) ...
OVERVIEW_FRESH_SECONDS = 60
# ... and an older answer is still shown, at once, while a fresh one is computed behind it.
OVERVIEW_KEEP_SECONDS = 24 * 60 * 60


def overview_key(period: Period) -> str:
    # v2: the figures gained the shelves' impressions; older cached ones lack them.
    return f"dashboard:overview:v2:{period}"


def overview_compute(period: Period, *, now: datetime | None = None) -> Overview:
    """The period's figures beside the previous period's, its daily series, and the store's
    recommendation health, from the database (aggregated queries)."""
    now = timezone.localtime(now)
    span = period_span(period, now=now)
    return Overview(
        period=period,
        computed_at=now,
        span=span,
        current=store_figures(span),
        previous=store_figures(span.before()),
        events=events_per_day(span),
        revenue=revenue_per_day(span),
        clicks=recommendation_clicks(span),
        shelves=shelf_figures(start=span.start, end=span.end),
        quality=quality_history(),
        top=top_products(span),
        coverage=_per_generation(generations.SIMILARITY, catalog_coverage),
        trending=_per_generation(generations.TRENDING, trending_by_category),
    )


T = TypeVar("T")


def _per_generation(family: str, compute: Callable[[], T]) -> T:
    """A figure that changes only when a pipeline replaces its results (coverage after the
    similarity run, trending after the trending run): computed once per run, not per minute."""
    key = f"dashboard:{compute.__name__}:{generations.generation(family)}"
    found: T | None = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, timeout=OVERVIEW_KEEP_SECONDS)
    return found
