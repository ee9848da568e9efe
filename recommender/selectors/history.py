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
import numpy.typing as npt
from django.db import connection

from catalog.selectors import product_cards_available
from infrastructure import sql
from recommender import kept_history
from recommender.algorithms.arrays import HISTORY_LENGTH
from recommender.algorithms.events import EVENT_TYPE_WEIGHTS, EventArrays, FloatArray, IntArray
from recommender.algorithms.tiered import Histories, Ranked
from recommender.configuration import LEARNED_LENGTH, PURCHASE_HISTORY_LENGTH
from recommender.kept_history import Records
from recommender.models import LearnedRecommendation
from tracking.models import EVENT_TYPE_CODES, Event, EventType, Visitor


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
RECENT, PURCHASES, LEARNED = 0, 1, 2


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


@dataclass(frozen=True)
class _Columns:
    """The parts of a history as columns: the latest events, newest first (product, type
    code, seconds), the latest purchases likewise (product, seconds), the learned list, best
    first (product, score)."""

    recent_product: IntArray
    recent_code: npt.NDArray[np.int8]
    recent_seconds: FloatArray
    purchased: IntArray
    purchase_seconds: FloatArray
    learned_product: IntArray
    learned_score: FloatArray


def _history_columns(
    visitor: str, length: int, purchase_length: int, learned_length: int
) -> _Columns:
    """Every part asked for: kept on Redis where it is kept exactly (recommender.kept_history),
    else read from the database (and then kept)."""
    found = kept_history.kept(
        visitor, length=length, purchase_length=purchase_length, learned_length=learned_length
    )
    if found is None:
        return _columns_read(visitor, length, purchase_length, learned_length)
    events, learned = found.events, found.learned
    read_events = events is None and bool(length or purchase_length)
    read_learned = learned is None and bool(learned_length)
    if not (read_events or read_learned):
        return _Columns(*_events_of_records(events), *_learned_of_records(learned))
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
        read[RECENT], read[PURCHASES] = read[RECENT][:length], read[PURCHASES][:purchase_length]
    read[LEARNED] = read[LEARNED][:learned_length]
    return _Columns(
        *(_events_of_rows(read) if read_events else _events_of_records(events)),
        *(_learned_of_rows(read) if read_learned else _learned_of_records(learned)),
    )


def _columns_read(visitor: str, length: int, purchase_length: int, learned_length: int) -> _Columns:
    """Every part asked for, from the database."""
    read = _parts(_rows_read(visitor, length, purchase_length, learned_length))
    return _Columns(*_events_of_rows(read), *_learned_of_rows(read))


_EventColumns = tuple[IntArray, npt.NDArray[np.int8], FloatArray, IntArray, FloatArray]
_LearnedColumns = tuple[IntArray, FloatArray]


def _events_of_rows(parts: dict[int, list[tuple[Any, ...]]]) -> _EventColumns:
    # Columns: part, event id, product, event type, seconds, score.
    _, _, recent, kinds, seconds, _ = _rows_columns(parts[RECENT])
    _, _, purchased, _, purchase_seconds, _ = _rows_columns(parts[PURCHASES])
    return (
        np.array(recent, dtype=np.int64),
        # Event types come as strings, equal (and hashed alike) to EventType's members.
        np.array([EVENT_TYPE_CODES[kind] for kind in kinds], dtype=np.int8),
        np.array(seconds, dtype=np.float64),
        np.array(purchased, dtype=np.int64),
        np.array(purchase_seconds, dtype=np.float64),
    )


def _learned_of_rows(parts: dict[int, list[tuple[Any, ...]]]) -> _LearnedColumns:
    _, _, product, _, _, score = _rows_columns(parts[LEARNED])
    return np.array(product, dtype=np.int64), np.array(score, dtype=np.float64)


def _events_of_records(events: tuple[Records, Records] | None) -> _EventColumns:
    if events is None:  # none asked for
        nothing = np.empty(0, dtype=kept_history.EVENT_RECORD)
        events = (nothing, nothing)
    recent, purchases = events
    return (
        recent["product"].astype(np.int64),
        recent["code"].astype(np.int8),
        # As the database's seconds: the microseconds kept are theirs, rounded.
        recent["micros"] / 1_000_000,
        purchases["product"].astype(np.int64),
        purchases["micros"] / 1_000_000,
    )


def _learned_of_records(learned: Records | None) -> _LearnedColumns:
    if learned is None:  # none asked for
        learned = np.empty(0, dtype=kept_history.LEARNED_RECORD)
    return learned["product"].astype(np.int64), learned["score"].astype(np.float64)


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
    columns = _history_columns(visitor, length, purchase_length, learned_length)
    recent, purchased, learned = (
        columns.recent_product.tolist(),
        columns.purchased.tolist(),
        columns.learned_product.tolist(),
    )
    cards, available = product_cards_available({*recent, *purchased, *learned})
    category = {pk: card["category"]["id"] for pk, card in cards.items()}
    zeros = np.zeros(len(recent), dtype=np.int64)
    return VisitorHistory(
        recent=Histories(
            visitor=zeros,
            product=columns.recent_product,
            weight=EVENT_TYPE_WEIGHTS[columns.recent_code],
        ),
        recent_categories=np.array([category[p] for p in recent], dtype=np.int64),
        recent_events=EventArrays(
            visitor=zeros.copy(),
            product=columns.recent_product.copy(),
            event_type=columns.recent_code,
            timestamp=columns.recent_seconds,
        ),
        purchases=EventArrays(
            visitor=np.zeros(len(purchased), dtype=np.int64),
            product=columns.purchased,
            event_type=np.full(len(purchased), EVENT_TYPE_CODES[EventType.PURCHASE], dtype=np.int8),
            timestamp=columns.purchase_seconds,
        ),
        purchased_available={p: category[p] for p in purchased if p in available},
        learned=Ranked(
            group=np.zeros(len(learned), dtype=np.int64),
            product=columns.learned_product,
            score=columns.learned_score,
        ),
        learned_categories=np.array([category[p] for p in learned], dtype=np.int64),
    )


def _rows_columns(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows' columns (six empty ones for no rows)."""
    return list(zip(*rows, strict=True)) if rows else [()] * 6
