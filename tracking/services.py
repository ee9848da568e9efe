"""Writes of shoppers' behaviour: visitors and their events."""

from __future__ import annotations

import functools
import json
from collections.abc import Container, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Product
from infrastructure import sql
from infrastructure.bulk import concrete_field, inserted_keys
from tracking.models import Event, EventSource, EventType, Visitor, new_event_id, new_visitor_id
from tracking.sales import NOT_A_SALE, Sale, sale_of, sale_of_lenient
from tracking.selectors import visitors_named
from tracking.signals import NO_EVENTS, StoredEvents, events_recorded

# How stale a shopper's last_seen_at may get while they browse.
LAST_SEEN_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class EventInput:
    """One event to record, validated but for its product's existence (events_record checks
    that: UnknownProductsError)."""

    visitor: str
    product_id: int
    event_type: EventType
    event_id: str = field(default_factory=new_event_id)
    occurred_at: datetime | None = None
    session_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


class EventIdTakenError(Exception):
    """event_ids already stored for another visitor's events (by position in the batch)."""

    def __init__(self, positions: list[int]) -> None:
        super().__init__(f"event_id already used by another visitor's event: {positions}")
        self.positions = positions


class UnknownProductsError(Exception):
    """Events naming products that do not exist (by position in the batch)."""

    def __init__(self, positions: list[int]) -> None:
        super().__init__(f"No such product for the events at {positions}")
        self.positions = positions


@dataclass(frozen=True)
class RecordedEvent:
    """One event of a recorded batch, as stored: the values sent when it is new (`created`),
    the stored ones when its event_id was stored already (a replay)."""

    event_id: str
    visitor: str
    product_id: int
    event_type: str
    occurred_at: datetime
    session_id: str
    metadata: dict[str, Any]
    created: bool


def visitor_ids_get_or_create(*, external_ids: Sequence[str]) -> dict[str, int]:
    """The ids of the visitors with these external ids, creating (anonymous) ones that are
    unknown.

    Safe under concurrency: a visitor created meanwhile by another request is found, not
    duplicated.
    """
    return {external_id: pk for external_id, (pk, _) in _visitors(external_ids).items()}


def _visitors(external_ids: Sequence[str]) -> dict[str, tuple[int, float | None]]:
    """visitor_ids_get_or_create, with when each was last seen (new ones: never)."""
    wanted = sorted(set(external_ids))
    visitors = visitors_named(wanted)
    if missing := [external_id for external_id in wanted if external_id not in visitors]:
        Visitor.objects.bulk_create(
            [Visitor(external_id=external_id) for external_id in missing], ignore_conflicts=True
        )
        visitors |= visitors_named(missing)
    return visitors


def events_record(
    *, events: Sequence[EventInput], source: EventSource = EventSource.API
) -> list[RecordedEvent]:
    """Store a batch of events all or nothing, idempotently: an event_id already stored is
    not stored again, and its stored event is returned. The visitors' cached recommendations
    are invalidated once the batch is committed. UnknownProductsError, and nothing stored,
    if an event names a product that does not exist.

    One INSERT of the whole batch skips the event_ids already stored (a replay is a client's
    retry, or a concurrent copy of the same batch); only when it skipped some are those read
    back, to return them and to refuse another visitor's.

    A batch runs in a transaction, so that refusing it undoes the events it inserted. One
    event has nothing to undo (it is inserted, or it is a replay and nothing was), and its
    other writes are safe to leave or redo: the visitor's row (what any first page view
    makes) and its last_seen_at. So it runs without one: BEGIN and COMMIT were two of the
    five round trips to PostgreSQL of a single event's request. On PostgreSQL a new event of
    a known visitor is one statement (_event_inserted_at_once)."""
    if len(events) == 1 and connection.vendor == "postgresql":
        recorded = _event_inserted_at_once(events[0], source)
        if recorded is not None:
            return [recorded]
        # A new visitor's first event, or a replay: the general path below.
    else:
        _products_checked(events)
    with transaction.atomic() if len(events) > 1 else nullcontext():
        return _events_record(events, source)


def _products_checked(events: Sequence[EventInput]) -> None:
    """UnknownProductsError unless every event's product exists (one query)."""
    wanted = sorted({e.product_id for e in events})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {sql.table(Product)} WHERE {sql.in_ids('id', 'ids')}",  # noqa: S608
            {"ids": sql.id_list(wanted)},
        )
        found = {pk for (pk,) in cursor.fetchall()}
    if missing := [i for i, e in enumerate(events) if e.product_id not in found]:
        raise UnknownProductsError(missing)


def _event_inserted_at_once(event: EventInput, source: EventSource) -> RecordedEvent | None:
    """One new event of a known visitor, stored by one statement that also reads the visitor
    (its id, when it was last seen) and checks the product; None, with nothing stored, if the
    visitor is unknown or the event_id is stored already.

    Most events a shop receives are new events of visitors it knows. Reading the product and
    the visitor first, then inserting, was three round trips to PostgreSQL, the largest cost
    of a single event's request on a host whose cores PostgreSQL shares."""
    now = timezone.now()
    occurred = event.occurred_at or now
    # The statement looks the visitor up by the external id it is given.
    columns = _columns(
        [event], visitors=[event.visitor], occurred=[occurred], source=source, now=now
    )
    parameters = {name: values[0] for name, values in columns.items()}
    parameters["metadata"] = json.dumps(event.metadata)  # text, cast to jsonb by the statement
    with connection.cursor() as cursor:
        cursor.execute(_event_insert_statement(tuple(columns)), parameters)
        visitor_id, seen, product_found, inserted = cursor.fetchone()
    if not product_found:
        raise UnknownProductsError([0])
    if visitor_id is None or inserted is None:
        return None
    _visitors_seen([(visitor_id, None if seen is None else float(seen))], now)
    stored = _stored([event], [occurred], [inserted])
    transaction.on_commit(lambda: _recommendations_invalidate([event.visitor], stored))
    return _recorded(event, visitor=event.visitor, occurred=occurred, created=True)


@functools.cache
def _event_insert_statement(names: tuple[str, ...]) -> str:
    """_event_inserted_at_once's statement (PostgreSQL) for these Event fields, made once per
    process. Every value is cast to its column's type: in INSERT ... SELECT an untyped
    parameter would be text."""

    def value(name: str) -> str:
        if name == "visitor":
            return "v.id"
        if name == "product":
            return "p.id"
        return f"%({name})s::{concrete_field(Event, name).db_type(connection)}"

    quote = connection.ops.quote_name
    fields = [concrete_field(Event, name) for name in names]
    return (
        # Only quoted identifiers and column types from the models are formatted in.
        f"WITH v AS (SELECT id, last_seen_at FROM {sql.table(Visitor)} "  # noqa: S608
        "WHERE external_id = %(visitor)s), "
        f"p AS (SELECT id FROM {sql.table(Product)} WHERE id = %(product)s), "
        f"inserted AS (INSERT INTO {sql.table(Event)} "
        f"({', '.join(quote(field.column) for field in fields)}) "
        f"SELECT {', '.join(value(name) for name in names)} FROM v, p "
        f"ON CONFLICT ({quote('event_id')}) DO NOTHING RETURNING id) "
        f"SELECT (SELECT id FROM v), (SELECT {sql.epoch_seconds('last_seen_at')} FROM v), "
        "EXISTS (SELECT FROM p), (SELECT id FROM inserted)"
    )


def _events_record(events: Sequence[EventInput], source: EventSource) -> list[RecordedEvent]:
    now = timezone.now()
    visitors = _visitors([e.visitor for e in events])
    visitor_ids = {external_id: pk for external_id, (pk, _) in visitors.items()}
    occurred = [e.occurred_at or now for e in events]
    columns = _columns(
        events,
        visitors=[visitor_ids[e.visitor] for e in events],
        occurred=occurred,
        source=source,
        now=now,
    )
    inserted = inserted_keys(Event, columns, skip_conflicts_on="event_id")
    recorded = [
        _recorded(e, visitor=e.visitor, occurred=when, created=True)
        for e, when in zip(events, occurred, strict=True)
    ]
    if len(inserted) < len(events):
        recorded = _replays_read(recorded, inserted, visitor_ids)
    _visitors_seen(visitors.values(), now)
    external_ids = sorted(visitors)
    # Of an event_id repeated in the batch, the first is the one stored.
    first: dict[str, tuple[EventInput, datetime]] = {}
    for e, when in zip(events, occurred, strict=True):
        first.setdefault(e.event_id, (e, when))
    new = [first[event_id] for event_id in inserted]
    stored = _stored([e for e, _ in new], [when for _, when in new], list(inserted.values()))
    transaction.on_commit(lambda: _recommendations_invalidate(external_ids, stored))
    return recorded


def _stored(
    events: Sequence[EventInput], occurred: Sequence[datetime], pks: Sequence[int]
) -> StoredEvents:
    return StoredEvents(
        visitor=[e.visitor for e in events],
        pk=pks,
        product_id=[e.product_id for e in events],
        event_type=[e.event_type for e in events],
        occurred_at=occurred,
    )


def _columns(
    events: Sequence[EventInput],
    *,
    visitors: Sequence[int | str],
    occurred: list[datetime],
    source: EventSource,
    now: datetime,
) -> dict[str, list[Any]]:
    """The events' rows, column by column (Event's field names to lists of values), with
    each event's visitor as the statement storing them takes it (an id, or an external id)."""
    sales = sales_of(events)
    return {
        "event_id": [e.event_id for e in events],
        "visitor": list(visitors),
        "product": [e.product_id for e in events],
        "event_type": [e.event_type for e in events],
        "occurred_at": occurred,
        "session_id": [e.session_id for e in events],
        "source": [source] * len(events),
        "metadata": [e.metadata for e in events],
        "quantity": [sale.quantity for sale in sales],
        "revenue": [sale.revenue for sale in sales],
        "order_ref": [sale.order_ref for sale in sales],
        "created_at": [now] * len(events),
    }


def _recorded(
    event: EventInput | Event, *, visitor: str, occurred: datetime, created: bool
) -> RecordedEvent:
    """An event as stored: a new one (what was sent) or the one stored before (a replay)."""
    return RecordedEvent(
        event_id=event.event_id,
        visitor=visitor,
        product_id=event.product_id,
        event_type=event.event_type,
        occurred_at=occurred,
        session_id=event.session_id,
        metadata=event.metadata,
        created=created,
    )


def _replays_read(
    recorded: list[RecordedEvent], inserted: Container[str], visitor_ids: dict[str, int]
) -> list[RecordedEvent]:
    """The batch with each event not inserted replaced by the stored one;
    EventIdTakenError if one of them is another visitor's (the exception rolls the batch
    back: a replay is the same client sending its own event again, never a way to read
    someone else's)."""
    skipped = [e.event_id for e in recorded if e.event_id not in inserted]
    stored = {event.event_id: event for event in Event.objects.filter(event_id__in=skipped)}
    taken = [
        position
        for position, e in enumerate(recorded)
        if e.event_id in stored and stored[e.event_id].visitor_id != visitor_ids[e.visitor]
    ]
    if taken:
        raise EventIdTakenError(taken)
    return [
        _recorded(
            stored[e.event_id],
            visitor=e.visitor,
            occurred=stored[e.event_id].occurred_at,
            created=False,
        )
        if e.event_id in stored
        else e
        for e in recorded
    ]


class SoldEvent(Protocol):
    """What sales_of reads of an event (an EventInput, an importer's ImportedEvent)."""

    @property
    def product_id(self) -> int: ...
    @property
    def event_type(self) -> str: ...
    @property
    def metadata(self) -> dict[str, Any]: ...


def sales_of(events: Sequence[SoldEvent], *, lenient: bool = False) -> list[Sale]:
    """What each event sold (tracking.sales; not a sale unless a purchase), with the
    products' prices read in one query for purchases that do not name an amount. `lenient`:
    sales already made (imports), whose unreadable amounts count at the product's price."""
    rule = sale_of_lenient if lenient else sale_of
    purchased = {e.product_id for e in events if e.event_type == EventType.PURCHASE}
    prices = (
        dict(Product.objects.filter(pk__in=purchased).values_list("pk", "price"))
        if purchased
        else {}
    )
    return [
        rule(e.metadata, price=prices.get(e.product_id))
        if e.event_type == EventType.PURCHASE
        else NOT_A_SALE
        for e in events
    ]


def storefront_event_record(
    *,
    visitor: str,
    product_id: int,
    event_type: EventType,
    session_id: str,
    metadata: dict[str, Any] | None = None,
) -> RecordedEvent:
    """A shopper opened a product's page or put it in the cart (recorded by the server, never
    by trusting the browser); a view's `metadata` names the recommendation widget and strategy
    the click came from.

    The event is new by construction (the server draws its event_id), so a known shopper's is
    one statement (events_record), and the visitor's last_seen_at is rewritten only when it
    is more than a minute old."""
    [recorded] = events_record(
        events=[
            EventInput(
                visitor=visitor,
                product_id=product_id,
                event_type=event_type,
                session_id=session_id,
                metadata=metadata or {},
            )
        ],
        source=EventSource.STOREFRONT,
    )
    return recorded


def _visitors_seen(visitors: Iterable[tuple[int, float | None]], now: datetime) -> None:
    """The visitors (id, last seen) were seen now: last_seen_at rewritten where it is more
    than a minute old (every event of a visit would otherwise rewrite the row), and no
    statement sent when none is."""
    stale_before = (now - LAST_SEEN_PRECISION).timestamp()
    if stale := [pk for pk, seen in visitors if seen is None or seen < stale_before]:
        with connection.cursor() as cursor:
            cursor.execute(
                # The ids as one array parameter (tracking.selectors.visitors_named says why).
                f"UPDATE {sql.table(Visitor)} SET last_seen_at = %(now)s "  # noqa: S608
                f"WHERE {sql.in_ids('id', 'ids')}",
                {"now": sql.moment(now), "ids": sql.id_list(stale)},
            )


def order_purchases_reverse(*, order_number: str, visitor_id: int) -> int:
    """A shop order was cancelled: the purchase events its checkout recorded for its visitor
    are deleted, so revenue, orders and every recommender stop counting them; the shopper's
    views and cart adds stay. Safe to run twice. How many were deleted."""
    purchases = Event.objects.filter(
        visitor_id=visitor_id,
        event_type=EventType.PURCHASE,
        source=EventSource.STOREFRONT,
        order_ref=order_number,
    )
    deleted, _ = purchases.delete()
    if deleted:
        visitor = Visitor.objects.values_list("external_id", flat=True).get(pk=visitor_id)
        transaction.on_commit(lambda: _recommendations_invalidate([visitor]))
    return deleted


def events_delete(*, events: QuerySet[Event]) -> int:
    """Delete events (staff, in the admin): their visitors' recommendations and kept histories
    are read again once it commits. How many were deleted."""
    visitors = sorted(set(events.values_list("visitor__external_id", flat=True)))
    deleted, _ = events.delete()
    transaction.on_commit(lambda: _recommendations_invalidate(visitors))
    return deleted


def _recommendations_invalidate(
    visitor_external_ids: Sequence[str], stored: StoredEvents = NO_EVENTS
) -> None:
    events_recorded.send(sender=Event, visitors=list(visitor_external_ids), events=stored)


@transaction.atomic
def visitor_sign_in(*, visitor: str, user: AbstractBaseUser) -> Visitor:
    """The account's visitor, which the browser's anonymous `visitor` becomes on signing in.

    An account's first sign-in adopts the browser's visitor; later ones, from another browser,
    move that browser's anonymous history into the account's visitor, so what the shopper did
    before signing in shapes their recommendations everywhere. A browser visitor that belongs
    to another account is left alone.
    """
    # The account's row is locked, so two first sign-ins at once make one account visitor.
    list(type(user)._default_manager.select_for_update().filter(pk=user.pk).values_list("pk"))
    account = Visitor.objects.filter(user_id=user.pk).order_by("id").first()
    browser = Visitor.objects.filter(external_id=visitor).first()
    if browser is not None and browser.user_id not in (None, user.pk):
        # Another account's visitor (its owner's session ended without logging out): that
        # history is theirs, so this account starts afresh.
        browser, visitor = None, new_visitor_id()
    if account is None:
        account = browser or Visitor(external_id=visitor)
        account.user_id = user.pk
        account.is_anonymous = False
        account.save()
    elif browser is not None and browser.pk != account.pk:
        Event.objects.filter(visitor=browser).update(visitor=account)
        moved = [browser.external_id, account.external_id]
        transaction.on_commit(lambda: _recommendations_invalidate(moved))
    return account
