"""Reads of shoppers' behaviour."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Q

from infrastructure import sql
from tracking.models import RECOMMENDATION_CLICK, Event, EventType, Visitor

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


def visitors_named(external_ids: list[str]) -> dict[str, tuple[int, float | None]]:
    """The stored visitors among these external ids: each one's id, and when it was last
    seen (Unix seconds, None if never).

    One array parameter, not the ORM's `__in`: a batch of events names up to 500 visitors,
    and preparing a parameter for each cost more than the index lookups."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT external_id, id, {sql.epoch_seconds('last_seen_at')} "  # noqa: S608
            f"FROM {sql.table(Visitor)} WHERE {sql.in_ids('external_id', 'ids')}",
            {"ids": sql.id_list(external_ids)},
        )
        return {
            external_id: (pk, None if seen is None else float(seen))
            for external_id, pk, seen in cursor.fetchall()
        }


def account_visitor(user: Any) -> str | None:
    """The external id of the account's visitor (its first), None without one."""
    row = account_visitor_row(user)
    return row.external_id if row is not None else None


def account_visitor_row(user: Any) -> Visitor | None:
    """The account's visitor (its first), None without one (or for an anonymous user)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Visitor.objects.filter(user_id=user.pk).order_by("id").only("external_id").first()


@dataclass(frozen=True)
class ProductActivity:
    views: int
    recommendation_clicks: int
    add_to_carts: int


def product_activity(*, product_ids: Iterable[int], since: datetime) -> dict[int, ProductActivity]:
    """Per product: views, the views that came from a recommendation, and add-to-carts since
    `since` (one grouped query over the (product, occurred_at) index); a product with none is
    absent."""
    rows = (
        Event.objects.filter(
            product_id__in=list(product_ids),
            occurred_at__gte=since,
            event_type__in=[EventType.VIEW, EventType.ADD_TO_CART],
        )
        .values("product_id")
        .annotate(
            views=Count("id", filter=Q(event_type=EventType.VIEW)),
            clicks=Count("id", filter=RECOMMENDATION_CLICK),
            carts=Count("id", filter=Q(event_type=EventType.ADD_TO_CART)),
        )
        .order_by()
    )
    return {
        row["product_id"]: ProductActivity(row["views"], row["clicks"], row["carts"])
        for row in rows
    }
