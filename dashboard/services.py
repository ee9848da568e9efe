"""Writes of the dashboard: its cached figures."""

from __future__ import annotations

from django.core.cache import cache

from dashboard.selectors import OVERVIEW_KEEP_SECONDS, Period, overview_compute, overview_key


def overview_refresh(*, period: Period) -> None:
    """Compute the period's overview now and keep it for the page to show."""
    cache.set(overview_key(period), overview_compute(period), timeout=OVERVIEW_KEEP_SECONDS)
