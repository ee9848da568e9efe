"""One visitor's history as a recommendation computed on a cache miss reads it.

Plain SQL, one statement per part asked for: the visitor is found by a scalar subquery rather
than a join, so PostgreSQL walks event_visitor_recent_idx (or learnedrec_visitor_score_idx) in
order and stops at the LIMIT, and no ORM compilation is paid on this hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from catalog.models import Product
from catalog.querysets import browsable_sql
from recommender.algorithms.events import EventArrays, IntArray
from recommender.algorithms.tiered import Histories, Ranked
from recommender.models import LearnedRecommendation
from tracking.models import EVENT_TYPE_CODES, EVENT_WEIGHTS, Event, EventType, Visitor


@dataclass(frozen=True)
class VisitorHistory:
    """What one visitor did, as the recommendations of visitor index 0 read it."""

    # The last events, newest first, and the categories of their products.
    recent: Histories
    recent_categories: IntArray
    # The last purchases, newest first (for buy-again), and the category of each purchased
    # product a shopper may be shown now (active and in stock).
    purchases: EventArrays
    purchased_available: dict[int, int]
    # The visitor's stored learned list, best first, and each product's category.
    learned: Ranked
    learned_categories: IntArray


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "event": quote(Event._meta.db_table),
        "product": quote(Product._meta.db_table),
        "visitor": quote(Visitor._meta.db_table),
        "learned": quote(LearnedRecommendation._meta.db_table),
    }


def _seconds(column: str) -> str:
    """A timestamp column as Unix seconds computed by the database: Django's timezone-aware
    datetime loader costs more per row than the rest of the query."""
    if connection.vendor == "sqlite":
        # Julian day 2440587.5 is 1970-01-01T00:00:00Z.
        return f"((julianday({column}) - 2440587.5) * 86400.0)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"


_VISITOR = "(SELECT v.id FROM {visitor} v WHERE v.external_id = %(visitor)s)"

# (product, event type, seconds, category, browsable) of the visitor's latest events, newest
# first; `{purchases}` narrows them to purchases.
_EVENTS_SQL = (
    "SELECT e.product_id, e.event_type, {seconds}, p.category_id, {browsable} "
    "FROM {event} e JOIN {product} p ON p.id = e.product_id "
    "WHERE e.visitor_id = " + _VISITOR + "{purchases} "
    "ORDER BY e.occurred_at DESC, e.id DESC LIMIT %(limit)s"
)
# (product, score, category) of the visitor's stored learned list, best first.
_LEARNED_SQL = (
    "SELECT l.product_id, l.score, p.category_id "
    "FROM {learned} l JOIN {product} p ON p.id = l.product_id "
    "WHERE l.visitor_id = " + _VISITOR + " "
    "ORDER BY l.score DESC, l.product_id LIMIT %(limit)s"
)


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _events(visitor: str, limit: int, *, purchases_only: bool) -> list[tuple[Any, ...]]:
    if not limit:
        return []
    sql = _EVENTS_SQL.format(
        **_tables(),
        seconds=_seconds("e.occurred_at"),
        browsable=browsable_sql("p"),
        purchases=" AND e.event_type = %(purchase)s" if purchases_only else "",
    )
    params = {"visitor": visitor, "limit": limit, "purchase": EventType.PURCHASE.value}
    return _rows(sql, params)


def _learned(visitor: str, limit: int) -> list[tuple[Any, ...]]:
    if not limit:
        return []
    return _rows(_LEARNED_SQL.format(**_tables()), {"visitor": visitor, "limit": limit})


def visitor_history(
    *, visitor: str, length: int, purchase_length: int = 0, learned_length: int = 0
) -> VisitorHistory:
    """The visitor's last `length` events and, if asked, last `purchase_length` purchases and
    best `learned_length` products of the learned list (availability of those is left to the
    served products' card check)."""
    recent = _events(visitor, length, purchases_only=False)
    purchases = _events(visitor, purchase_length, purchases_only=True)
    learned = _learned(visitor, learned_length)
    return VisitorHistory(
        recent=Histories(
            visitor=np.zeros(len(recent), dtype=np.int64),
            product=np.array([row[0] for row in recent], dtype=np.int64),
            # Event types come as strings, equal (and hashed alike) to EventType's members.
            weight=np.array([EVENT_WEIGHTS[row[1]] for row in recent], dtype=np.float64),
        ),
        recent_categories=np.array([row[3] for row in recent], dtype=np.int64),
        purchases=EventArrays(
            visitor=np.zeros(len(purchases), dtype=np.int64),
            product=np.array([row[0] for row in purchases], dtype=np.int64),
            event_type=np.full(len(purchases), EVENT_TYPE_CODES[EventType.PURCHASE], dtype=np.int8),
            timestamp=np.array([row[2] for row in purchases], dtype=np.float64),
        ),
        purchased_available={row[0]: row[3] for row in purchases if row[4]},
        learned=Ranked(
            group=np.zeros(len(learned), dtype=np.int64),
            product=np.array([row[0] for row in learned], dtype=np.int64),
            score=np.array([row[1] for row in learned], dtype=np.float64),
        ),
        learned_categories=np.array([row[2] for row in learned], dtype=np.int64),
    )
