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
    row = account_visitor_row(user)
    return row.external_id if row is not None else None


def account_visitor_row(user: Any) -> Visitor | None:
    """The account's visitor (its first), None without one (or for an anonymous user)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Visitor.objects.filter(user_id=user.pk).order_by("id").only("external_id").first()
