"""The dashboard's background work: one-line wrappers around its services."""

from __future__ import annotations

from celery import shared_task

from dashboard import services
from dashboard.selectors import Period


# Enqueued on demand (with `expires`) by dashboard.refresh.overview; safe to run twice: the
# later run stores the newer figures.
@shared_task(name="dashboard.refresh_overview", soft_time_limit=4 * 60, time_limit=5 * 60)
def refresh_overview(period: str) -> None:
    """Recompute one period's dashboard figures into the cache."""
    services.overview_refresh(period=Period(period))
