"""What operators see of the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min

from infrastructure.outbox.models import OutboxMessage


@dataclass(frozen=True)
class OutboxBacklog:
    waiting: int
    oldest_at: datetime | None
    last_error: str


def outbox_backlog() -> OutboxBacklog:
    """The tasks still waiting for the broker to take them (two indexed reads)."""
    unsent = OutboxMessage.objects.filter(sent_at__isnull=True)
    summary = unsent.aggregate(waiting=Count("id"), oldest_at=Min("created_at"))
    if not summary["waiting"]:
        return OutboxBacklog(waiting=0, oldest_at=None, last_error="")
    last_error = (
        unsent.exclude(last_error="")
        .order_by("-created_at")
        .values_list("last_error", flat=True)
        .first()
    )
    return OutboxBacklog(
        waiting=summary["waiting"], oldest_at=summary["oldest_at"], last_error=last_error or ""
    )
