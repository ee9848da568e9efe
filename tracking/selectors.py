"""Reads of shoppers' behaviour."""

from __future__ import annotations

from typing import Any

from tracking.models import Event, EventType, Visitor

# How far back "recently viewed" looks (events, not products).
RECENT_VIEWS = 50


def recently_viewed(*, visitor: str, limit: int, exclude: int | None = None) -> list[int]:
    """The products the visitor viewed last, newest first, each once."""
    views = (
        Event.objects.latest_of(visitor)
        .filter(event_type=EventType.VIEW)
        .values_list("product_id", flat=True)[:RECENT_VIEWS]
    )
    products = list(dict.fromkeys(p for p in views if p != exclude))
    return products[:limit]


def account_visitor(user: Any) -> str | None:
    """The external id of the account's visitor (its first), None without one."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Visitor.objects.filter(user_id=user.pk).order_by("id").values_list("external_id", flat=True)
    ).first()
