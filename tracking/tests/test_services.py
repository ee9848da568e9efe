from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from infrastructure import cache
from tracking.models import Event, EventSource, EventType, Visitor
from tracking.services import (
    EventIdTakenError,
    EventInput,
    UnknownProductsError,
    events_record,
    storefront_event_record,
)
from tracking.tests.factories import VisitorFactory

pytestmark = pytest.mark.django_db


def test_a_storefront_event_creates_the_visitor_and_invalidates_their_recommendations(
    django_capture_on_commit_callbacks,
):
    mug = ProductFactory.create()
    computed = []

    def compute() -> int:
        computed.append(1)
        return len(computed)

    def recommendations() -> int:
        return cache.cached(
            cache.RECOMMENDATIONS, "browser-1", timeout=60, compute=compute, scope="browser-1"
        )

    assert recommendations() == recommendations() == 1
    with django_capture_on_commit_callbacks(execute=True):
        event = storefront_event_record(
            visitor="browser-1",
            product_id=mug.pk,
            event_type=EventType.VIEW,
            session_id="s1",
            metadata={"rec": "home_for_you"},
        )
    stored = Event.objects.get()
    assert (stored.event_id, stored.product_id, stored.occurred_at) == (
        event.event_id,
        event.product_id,
        event.occurred_at,
    )
    assert (stored.visitor.external_id, stored.source, stored.session_id) == (
        "browser-1",
        EventSource.STOREFRONT,
        "s1",
    )
    assert stored.metadata == {"rec": "home_for_you"}
    assert stored.visitor.last_seen_at is not None
    assert recommendations() == 2


def _seen_on_the_storefront(visitors: list[str], product: Product) -> None:
    for visitor in visitors:
        storefront_event_record(
            visitor=visitor, product_id=product.pk, event_type=EventType.VIEW, session_id=""
        )


def _seen_in_an_api_batch(visitors: list[str], product: Product) -> None:
    events_record(
        events=[
            EventInput(visitor=visitor, product_id=product.pk, event_type=EventType.VIEW)
            for visitor in visitors
        ]
    )


def _seen_one_event_at_a_time(visitors: list[str], product: Product) -> None:
    for visitor in visitors:
        events_record(
            events=[EventInput(visitor=visitor, product_id=product.pk, event_type=EventType.VIEW)]
        )


@pytest.mark.parametrize(
    "record",
    [_seen_on_the_storefront, _seen_in_an_api_batch, _seen_one_event_at_a_time],
    ids=["storefront", "api", "one event"],
)
def test_last_seen_is_rewritten_at_most_once_a_minute(record):
    mug = ProductFactory.create()
    recently = timezone.now() - timedelta(seconds=10)
    long_ago = timezone.now() - timedelta(hours=2)
    fresh = VisitorFactory.create(external_id="fresh", last_seen_at=recently)
    stale = VisitorFactory.create(external_id="stale", last_seen_at=long_ago)
    record(["fresh", "stale", "new"], mug)
    assert Visitor.objects.get(pk=fresh.pk).last_seen_at == recently
    seen = Visitor.objects.get(pk=stale.pk).last_seen_at
    assert seen is not None
    assert seen > long_ago
    assert Visitor.objects.get(external_id="new").last_seen_at is not None


def _stored(event_id: str) -> dict[str, object]:
    row = Event.objects.values().get(event_id=event_id)
    return {name: value for name, value in row.items() if name not in ("id", "event_id")}


@pytest.mark.parametrize("known", [True, False], ids=["known visitor", "new visitor"])
def test_one_event_is_stored_as_a_batch_stores_it(known):
    """A known visitor's event goes through a statement of its own: it must store the same
    row as the batch's insert, a purchase's sale included."""
    mug = ProductFactory.create(price="4.50")
    if known:
        VisitorFactory.create(external_id="v1")
    when = timezone.now() - timedelta(minutes=3)

    def purchase(event_id: str) -> EventInput:
        return EventInput(
            visitor="v1",
            product_id=mug.pk,
            event_type=EventType.PURCHASE,
            event_id=event_id,
            occurred_at=when,
            session_id="s-9",
            metadata={"quantity": 3, "order": "A-17", "note": "gift ✓"},
        )

    [alone] = events_record(events=[purchase("alone")])
    events_record(events=[purchase("in-batch"), purchase("other")])

    assert alone.created
    assert _stored("alone") | {"created_at": None} == _stored("in-batch") | {"created_at": None}
    assert _stored("alone")["revenue"] == Decimal("13.50")
    assert Visitor.objects.filter(external_id="v1").count() == 1


def test_one_event_sent_again_is_a_replay_and_another_visitors_is_refused():
    mug = ProductFactory.create()
    VisitorFactory.create(external_id="v1")
    VisitorFactory.create(external_id="v2")
    first = EventInput(visitor="v1", product_id=mug.pk, event_type=EventType.VIEW, event_id="e")

    assert events_record(events=[first])[0].created
    [again] = events_record(events=[first])
    assert not again.created
    assert again.occurred_at == Event.objects.get().occurred_at
    with pytest.raises(EventIdTakenError):
        events_record(events=[EventInput("v2", mug.pk, EventType.VIEW, event_id="e")])
    assert Event.objects.count() == 1


@pytest.mark.parametrize("known", [True, False], ids=["known visitor", "new visitor"])
def test_an_event_of_a_product_that_does_not_exist_stores_nothing(known):
    mug = ProductFactory.create()
    if known:
        VisitorFactory.create(external_id="v1")
    gone = mug.pk + 1000

    with pytest.raises(UnknownProductsError) as one:
        events_record(events=[EventInput("v1", gone, EventType.VIEW)])
    with pytest.raises(UnknownProductsError) as batch:
        events_record(
            events=[
                EventInput("v1", mug.pk, EventType.VIEW),
                EventInput("v1", gone, EventType.VIEW),
            ]
        )

    assert (one.value.positions, batch.value.positions) == ([0], [1])
    assert not Event.objects.exists()


@pytest.mark.postgres  # elsewhere the general path: the product, the visitor, the insert
def test_a_known_shoppers_storefront_event_is_one_statement(django_assert_num_queries):
    mug = ProductFactory.create()
    VisitorFactory.create(external_id="browser-1", last_seen_at=timezone.now())
    with django_assert_num_queries(1):
        storefront_event_record(
            visitor="browser-1", product_id=mug.pk, event_type=EventType.VIEW, session_id="s"
        )
    assert Event.objects.get().source == EventSource.STOREFRONT
