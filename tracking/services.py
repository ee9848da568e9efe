"""Writes of shoppers' behaviour: visitors and their events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Product
from tracking.models import Event, EventSource, EventType, Visitor, new_event_id, new_visitor_id
from tracking.sales import NOT_A_SALE, Sale, sale_of, sale_of_lenient
from tracking.signals import events_recorded

# How stale a shopper's last_seen_at may get while they browse.
LAST_SEEN_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class EventInput:
    """One event to record, validated (its product exists)."""

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


@dataclass(frozen=True)
class RecordedEvents:
    """The stored events in the order given; `created` says which ones are new (the others
    were already stored under their event_id: a replay)."""

    events: list[Event]
    created: list[bool]


def visitors_get_or_create(*, external_ids: Sequence[str]) -> dict[str, Visitor]:
    """The visitors with these external ids, creating (anonymous) ones that are unknown.

    Safe under concurrency: a visitor created meanwhile by another request is found, not
    duplicated.
    """
    wanted = set(external_ids)
    visitors = {v.external_id: v for v in Visitor.objects.filter(external_id__in=wanted)}
    missing = wanted - visitors.keys()
    if missing:
        Visitor.objects.bulk_create(
            [Visitor(external_id=external_id) for external_id in sorted(missing)],
            ignore_conflicts=True,
        )
        visitors |= {v.external_id: v for v in Visitor.objects.filter(external_id__in=missing)}
    return visitors


@transaction.atomic
def events_record(
    *, events: Sequence[EventInput], source: EventSource = EventSource.API
) -> RecordedEvents:
    """Store a batch of events all or nothing, idempotently: an event_id already stored is
    not stored again, and its stored event is returned. The visitors' cached recommendations
    are invalidated once the batch is committed."""
    now = timezone.now()
    visitors = visitors_get_or_create(external_ids=[e.visitor for e in events])
    rows = [
        _event_row(e, visitors[e.visitor], sale, source, now)
        for e, sale in zip(events, sales_of(events), strict=True)
    ]
    recorded = _events_all_new(rows)
    if recorded is None:
        recorded = _events_some_stored(rows)
    _visitors_seen([visitors[e.visitor] for e in events], now)
    external_ids = sorted({e.visitor for e in events})
    transaction.on_commit(lambda: _recommendations_invalidate(external_ids))
    return recorded


def _events_all_new(rows: list[Event]) -> RecordedEvents | None:
    """The batch inserted as it is, when none of its event_ids is stored yet (almost every
    batch: a replay is a client's retry): one INSERT, which also gives the new rows' ids, so
    nothing is read back. None, with nothing written, when an event_id is taken; the batch
    is then recorded by _events_some_stored."""
    try:
        # A savepoint: the failed INSERT is undone alone, and the batch goes on.
        with transaction.atomic():
            Event.objects.bulk_create(rows)
    except IntegrityError:
        return None
    return RecordedEvents(events=rows, created=[True] * len(rows))


def _events_some_stored(rows: list[Event]) -> RecordedEvents:
    """The batch with the events already stored (replays, or a concurrent request's) left
    as they are and returned; EventIdTakenError if one of them is another visitor's."""
    event_ids = [row.event_id for row in rows]
    already = set(Event.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))
    Event.objects.bulk_create(
        [row for row in rows if row.event_id not in already],
        # A concurrent request storing the same event_id wins; this one then returns it.
        ignore_conflicts=True,
    )
    stored = {e.event_id: e for e in Event.objects.filter(event_id__in=event_ids)}
    taken = [
        position
        for position, row in enumerate(rows)
        if stored[row.event_id].visitor_id != row.visitor_id
    ]
    if taken:
        # A replay is the same client sending its own event again, never a way to read
        # someone else's; the exception rolls the whole batch back.
        raise EventIdTakenError(taken)
    # Every stored event is its sender's visitor's: no join needed to attach it.
    for row in rows:
        stored[row.event_id].visitor = row.visitor
    return RecordedEvents(
        events=[stored[event_id] for event_id in event_ids],
        created=[event_id not in already for event_id in event_ids],
    )


def _event_row(
    event: EventInput, visitor: Visitor, sale: Sale, source: EventSource, now: datetime
) -> Event:
    return Event(
        event_id=event.event_id,
        visitor=visitor,
        product_id=event.product_id,
        event_type=event.event_type,
        occurred_at=event.occurred_at or now,
        session_id=event.session_id,
        source=source,
        metadata=event.metadata,
        quantity=sale.quantity,
        revenue=sale.revenue,
        order_ref=sale.order_ref,
    )


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
) -> Event:
    """A shopper opened a product's page or put it in the cart (recorded by the server, never
    by trusting the browser); a view's `metadata` names the recommendation widget and strategy
    the click came from.

    The event is new by construction (the server draws its event_id), so unlike a client's
    batch it needs no replay check: one INSERT, and the visitor's last_seen_at only when it is
    more than a minute old.
    """
    now = timezone.now()
    shopper = visitors_get_or_create(external_ids=[visitor])[visitor]
    event = Event.objects.create(
        visitor=shopper,
        product_id=product_id,
        event_type=event_type,
        occurred_at=now,
        session_id=session_id,
        source=EventSource.STOREFRONT,
        metadata=metadata or {},
    )
    _visitors_seen([shopper], now)
    transaction.on_commit(lambda: _recommendations_invalidate([visitor]))
    return event


def _visitors_seen(visitors: Sequence[Visitor], now: datetime) -> None:
    """The visitors were seen now: last_seen_at rewritten where it is more than a minute old
    (every event of a visit would otherwise rewrite the row)."""
    stale = {
        v.pk
        for v in visitors
        if v.last_seen_at is None or now - v.last_seen_at > LAST_SEEN_PRECISION
    }
    if stale:
        Visitor.objects.filter(pk__in=stale).update(last_seen_at=now)


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


def _recommendations_invalidate(visitor_external_ids: Sequence[str]) -> None:
    events_recorded.send(sender=Event, visitors=list(visitor_external_ids))


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
