"""One visitor's history as a recommendation computed on a cache miss reads it.

Plain SQL with named parameters, no ORM compilation on this hot path: on PostgreSQL one
statement, a UNION ALL of the parts asked for, each limited on its own (SQLite cannot limit
the parts of a compound query, so there it is a statement per part). The visitor is found by a
scalar subquery rather than a join, so PostgreSQL walks event_visitor_recent_idx (or
learnedrec_visitor_score_idx) in order and stops at each part's LIMIT. Every part has the same
columns, each holding one kind of value (NULL where a part has none). The products' categories
and availability come from their cards (catalog.selectors), which a list's computation finds
kept by the worker: joining the product table cost the read a third of its time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from catalog.selectors import product_cards_available
from infrastructure import sql
from recommender import kept_history
from recommender.algorithms.arrays import HISTORY_LENGTH
from recommender.algorithms.events import EventArrays, IntArray
from recommender.algorithms.tiered import Histories, Ranked
from recommender.configuration import LEARNED_LENGTH, PURCHASE_HISTORY_LENGTH
from recommender.models import LearnedRecommendation
from tracking.models import EVENT_TYPE_CODES, EVENT_WEIGHTS, Event, EventType, Visitor


@dataclass(frozen=True)
class VisitorHistory:
    """What one visitor did, as the recommendations of visitor index 0 read it."""

    # The last events, newest first, and the categories of their products; the same events
    # with their types and times (the current session and basket are read from them).
    recent: Histories
    recent_categories: IntArray
    recent_events: EventArrays
    # The last purchases, newest first (for buy-again), and the category of each purchased
    # product a shopper may be shown now (active and in stock).
    purchases: EventArrays
    purchased_available: dict[int, int]
    # The visitor's stored learned list, best first, and each product's category.
    learned: Ranked
    learned_categories: IntArray


def _tables() -> dict[str, str]:
    return {
        "event": sql.table(Event),
        "visitor": sql.table(Visitor),
        "learned": sql.table(LearnedRecommendation),
    }


_VISITOR = "(SELECT v.id FROM {visitor} v WHERE v.external_id = %(visitor)s)"

# Every part reads the same columns: (part, event id, product, event type, seconds, learned
# score), NULL where a part has no such value. Event parts are the visitor's latest events
# newest first (`{purchases}` narrows them to purchases); the learned part is the visitor's
# stored learned list, best first.
_EVENTS_PART = (
    "SELECT {part} AS part, e.id AS event_id, e.product_id, e.event_type, {seconds} AS seconds, "
    "CAST(NULL AS DOUBLE PRECISION) AS score "
    "FROM {event} e "
    "WHERE e.visitor_id = " + _VISITOR + "{purchases} "
    "ORDER BY e.occurred_at DESC, e.id DESC LIMIT %({limit})s"
)
_LEARNED_PART = (
    "SELECT 2 AS part, NULL AS event_id, l.product_id, NULL AS event_type, NULL AS seconds, "
    "l.score "
    "FROM {learned} l "
    "WHERE l.visitor_id = " + _VISITOR + " "
    "ORDER BY l.score DESC, l.product_id LIMIT %(learned_length)s"
)
RECENT, PURCHASES, LEARNED = kept_history.RECENT, kept_history.PURCHASES, kept_history.LEARNED_PART


@functools.cache
def _statements(vendor: str, recent: bool, purchases: bool, learned: bool) -> tuple[str, ...]:
    """The statements reading the parts asked for: one where the database can limit the parts
    of a UNION ALL (PostgreSQL), else one per part (SQLite). Built once per combination: the
    text never changes, and building it cost a cache miss as much as parsing its rows."""
    tables = _tables()
    events = {
        # Floats, not NUMERIC: psycopg would build a Decimal per row.
        "seconds": f"CAST({sql.epoch_seconds('e.occurred_at')} AS DOUBLE PRECISION)",
        **tables,
    }
    parts = []
    if recent:
        parts.append(_EVENTS_PART.format(part=RECENT, purchases="", limit="length", **events))
    if purchases:
        narrowed = " AND e.event_type = %(purchase)s"
        parts.append(
            _EVENTS_PART.format(
                part=PURCHASES, purchases=narrowed, limit="purchase_length", **events
            )
        )
    if learned:
        parts.append(_LEARNED_PART.format(**tables))
    if vendor == "postgresql" and len(parts) > 1:
        # A UNION ALL keeps no order: the rows come back by part, each in its own order.
        union = " UNION ALL ".join(f"({part})" for part in parts)
        return (f"{union} ORDER BY part, seconds DESC, event_id DESC, score DESC, product_id",)
    return tuple(parts)


def _history_rows(
    visitor: str, length: int, purchase_length: int, learned_length: int
) -> list[tuple[Any, ...]]:
    """The rows of every part asked for: kept on Redis where they are kept exactly
    (recommender.kept_history), else read from the database (and then kept)."""
    found = kept_history.kept(
        visitor, length=length, purchase_length=purchase_length, learned_length=learned_length
    )
    if found is None:
        return _rows_read(visitor, length, purchase_length, learned_length)
    events, learned = found.events, found.learned
    read_events = events is None and bool(length or purchase_length)
    read_learned = learned is None and bool(learned_length)
    if read_events or read_learned:
        # A history is kept whole: every part the history reads of the visitor, at full length.
        read = _parts(
            _rows_read(
                visitor,
                HISTORY_LENGTH if read_events else 0,
                PURCHASE_HISTORY_LENGTH if read_events else 0,
                LEARNED_LENGTH if read_learned else 0,
            )
        )
        kept_history.keep(
            found,
            read[RECENT] if read_events else None,
            read[PURCHASES],
            read[LEARNED] if read_learned else None,
        )
        if read_events:
            events = (read[RECENT], read[PURCHASES])
        if read_learned:
            learned = read[LEARNED]
    recent, purchases = events if events is not None else ([], [])
    return [*recent[:length], *purchases[:purchase_length], *(learned or [])[:learned_length]]


def _rows_read(
    visitor: str, length: int, purchase_length: int, learned_length: int
) -> list[tuple[Any, ...]]:
    """The rows of every part asked for, from the database."""
    params: dict[str, str | int] = {
        "visitor": visitor,
        "purchase": EventType.PURCHASE.value,
        "length": length,
        "purchase_length": purchase_length,
        "learned_length": learned_length,
    }
    rows = []
    statements = _statements(connection.vendor, length > 0, purchase_length > 0, learned_length > 0)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params)
            rows += cursor.fetchall()
    return rows


def _parts(rows: list[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    """The rows of each part (they come by part, each part in its own order)."""
    parts: dict[int, list[tuple[Any, ...]]] = {RECENT: [], PURCHASES: [], LEARNED: []}
    for row in rows:
        parts[row[0]].append(row)
    return parts


def visitor_history(
    *, visitor: str, length: int, purchase_length: int = 0, learned_length: int = 0
) -> VisitorHistory:
    """The visitor's last `length` events and, if asked, last `purchase_length` purchases and
    best `learned_length` products of the learned list, with their products' categories."""
    rows = _history_rows(visitor, length, purchase_length, learned_length)
    cards, available = product_cards_available({row[2] for row in rows})
    category = {pk: card["category"]["id"] for pk, card in cards.items()}
    # Columns: part, event id, product, event type, seconds, score.
    parts = _parts(rows)
    _, _, recent_product, recent_type, recent_seconds, _ = _columns(parts[RECENT])
    _, _, purchased, _, purchase_seconds, _ = _columns(parts[PURCHASES])
    _, _, learned_product, _, _, learned_score = _columns(parts[LEARNED])
    recent = np.array(recent_product, dtype=np.int64)
    return VisitorHistory(
        recent=Histories(
            visitor=np.zeros(len(recent), dtype=np.int64),
            product=recent,
            # Event types come as strings, equal (and hashed alike) to EventType's members.
            weight=np.array([EVENT_WEIGHTS[t] for t in recent_type], dtype=np.float64),
        ),
        recent_categories=np.array([category[p] for p in recent_product], dtype=np.int64),
        recent_events=EventArrays(
            visitor=np.zeros(len(recent), dtype=np.int64),
            product=recent.copy(),
            event_type=np.array([EVENT_TYPE_CODES[t] for t in recent_type], dtype=np.int8),
            timestamp=np.array(recent_seconds, dtype=np.float64),
        ),
        purchases=EventArrays(
            visitor=np.zeros(len(purchased), dtype=np.int64),
            product=np.array(purchased, dtype=np.int64),
            event_type=np.full(len(purchased), EVENT_TYPE_CODES[EventType.PURCHASE], dtype=np.int8),
            timestamp=np.array(purchase_seconds, dtype=np.float64),
        ),
        purchased_available={p: category[p] for p in purchased if p in available},
        learned=Ranked(
            group=np.zeros(len(learned_product), dtype=np.int64),
            product=np.array(learned_product, dtype=np.int64),
            score=np.array(learned_score, dtype=np.float64),
        ),
        learned_categories=np.array([category[p] for p in learned_product], dtype=np.int64),
    )


def _columns(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows' columns (six empty ones for no rows)."""
    return list(zip(*rows, strict=True)) if rows else [()] * 6
