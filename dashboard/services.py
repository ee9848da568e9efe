"""Writes of the dashboard: its cached figures."""

from __future__ import annotations

from django.core.cache import cache

from dashboard.overview import OVERVIEW_KEEP_SECONDS, overview_compute, overview_key
from dashboard.selectors import Period


def overview_refresh(*, period: Period) -> None:
    """Compute the period's overview now and keep it for the page to show."""
    cache.set(overview_key(period), overview_compute(period), timeout=OVERVIEW_KEEP_SECONDS)
