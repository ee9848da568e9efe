"""A visitor's history kept on Redis reads exactly what the database would, through every way
their events change, and is not used where it could be stale."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from infrastructure import cache
from infrastructure.redis_client import redis_client
from infrastructure.writes import writes_batched
from recommender import kept_history
from recommender.configuration import LEARNED_LENGTH, PURCHASE_HISTORY_LENGTH
from recommender.models import LearnedRecommendation
from recommender.selectors import history
from tracking.models import Event, EventType, Visitor
from tracking.services import (
    EventInput,
    events_record,
    order_purchases_reverse,
    visitor_sign_in,
)
from tracking.signals import StoredEvents
from tracking.tests.factories import EventFactory, UserFactory, VisitorFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.redis]

LENGTHS = {
    "length": 50,
    "purchase_length": PURCHASE_HISTORY_LENGTH,
    "learned_length": LEARNED_LENGTH,
}
_calls = itertools.count()


def read(visitor: str, **lengths: int) -> tuple[list[tuple[Any, ...]], bool]:
    """The history as a list's computation reads it on a cache miss (after a new lookup of
    the visitor's generations), as rows, and whether it came from Redis."""
    asked = LENGTHS | lengths
    found: list[Any] = []

    def compute() -> list[tuple[Any, ...]]:
        kept = kept_history.kept(visitor, **asked)
        found.append(kept is not None and kept.events is not None)
        return rows_of(history._history_columns(visitor, *asked.values()))

    with writes_batched():
        rows = cache.cached(
            cache.RECOMMENDATIONS, "kept-test", next(_calls), timeout=60, compute=compute,
            scope=visitor,
        )  # fmt: skip
    return rows, found[0]


def database(visitor: str, **lengths: int) -> list[tuple[Any, ...]]:
    return rows_of(history._columns_read(visitor, *(LENGTHS | lengths).values()))


def rows_of(columns: Any) -> list[tuple[Any, ...]]:
    """A history's parts as rows of (part, product, event type code, seconds, score), in
    order, to compare."""
    return [
        *(
            (history.RECENT, product, code, seconds, None)
            for product, code, seconds in zip(
                columns.recent_product.tolist(),
                columns.recent_code.tolist(),
                columns.recent_seconds.tolist(),
                strict=True,
            )
        ),
        *(
            (history.PURCHASES, product, None, seconds, None)
            for product, seconds in zip(
                columns.purchased.tolist(), columns.purchase_seconds.tolist(), strict=True
            )
        ),
        *(
            (history.LEARNED, product, None, None, score)
            for product, score in zip(
                columns.learned_product.tolist(), columns.learned_score.tolist(), strict=True
            )
        ),
    ]


def record(django_capture_on_commit_callbacks, events: list[EventInput]) -> None:
    with django_capture_on_commit_callbacks(execute=True), writes_batched():
        events_record(events=events)


def viewed(django_capture_on_commit_callbacks, visitor: str, product: int) -> None:
    record(
        django_capture_on_commit_callbacks,
        [EventInput(visitor=visitor, product_id=product, event_type=EventType.VIEW)],
    )


@pytest.fixture
def products():
    return ProductFactory.create_batch(8)


def test_a_kept_history_follows_every_new_event_as_the_database_orders_them(
    products, django_capture_on_commit_callbacks
):
    """Events one at a time and in batches, out of order, at the same moment (then by id),
    purchases among them, and more than are kept: each read equals the database's."""
    shopper = VisitorFactory.create().external_id
    rng = random.Random(7)
    # Ids crossing a byte's range, so that members at one moment sort by id, not by a byte.
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('tracking_event', 'id'), 250)")
    start = timezone.now() - timedelta(days=3)
    # The first read keeps what the database holds; later ones read what was added.
    EventFactory.create(visitor=Visitor.objects.get(external_id=shopper), product=products[0])
    first, from_redis = read(shopper)
    assert (first, from_redis) == (database(shopper), False)
    assert read(shopper) == (database(shopper), True)
    # Twelve at one moment, with ids from 252 to 263.
    record(django_capture_on_commit_callbacks, [
        EventInput(visitor=shopper, product_id=product.pk, event_type=EventType.VIEW)
        for product in products + products[:4]
    ])  # fmt: skip
    assert read(shopper) == (database(shopper), True)
    for batch in range(30):
        moment = start + timedelta(minutes=rng.randrange(0, 3000))
        offsets = [timedelta(seconds=seconds) for seconds in (0, 0, 1, 90)]
        events = [
            EventInput(
                visitor=shopper,
                product_id=rng.choice(products).pk,
                event_type=rng.choice(list(EventType)),
                # Some at one moment (ordered by id), some without a time (now).
                occurred_at=None if batch % 7 == 0 else moment + rng.choice(offsets),
            )
            for _ in range(rng.choice([1, 1, 3, 12]))
        ]  # fmt: skip
        record(django_capture_on_commit_callbacks, events)
        rows, from_redis = read(shopper)
        assert from_redis
        assert rows == database(shopper)
    assert Event.objects.filter(visitor__external_id=shopper).count() > 50
    for lengths in ({"length": 10, "purchase_length": 0}, {"length": 0, "purchase_length": 3}):
        assert read(shopper, **lengths) == (database(shopper, **lengths), True)
    # What came since a snapshot is folded into a new one, so a shopper's log stays short.
    client = redis_client()
    log = client.get_client().llen(client.make_key(f"history:{shopper}:log"))
    assert log < kept_history.LOG_FOLDED <= 20  # of the 31 batches since the first


def test_an_event_kept_twice_is_read_once(products, django_capture_on_commit_callbacks):
    """A history read from the database after an event committed, and kept before the event's
    own bump appended it: the event is in the snapshot and in its log."""
    shopper = VisitorFactory.create().external_id
    record(django_capture_on_commit_callbacks, [
        EventInput(visitor=shopper, product_id=products[0].pk, event_type=EventType.VIEW),
    ])  # fmt: skip
    read(shopper)
    stored = Event.objects.get(visitor__external_id=shopper)
    with writes_batched():
        kept_history.events_recorded(
            [shopper],
            StoredEvents(
                visitor=[shopper],
                pk=[stored.pk],
                product_id=[stored.product_id],
                event_type=[stored.event_type],
                occurred_at=[stored.occurred_at],
            ),
        )
    assert read(shopper) == (database(shopper), True)
    assert len(database(shopper)) == 1


def test_a_history_changed_behind_the_visitors_back_is_read_again(
    products, django_capture_on_commit_callbacks
):
    shopper = VisitorFactory.create()
    viewed(django_capture_on_commit_callbacks, shopper.external_id, products[0].pk)
    read(shopper.external_id)
    assert read(shopper.external_id)[1]
    # An event written without the services: the visitor's generation is bumped as every
    # writer of a visitor's events must, and the kept history is not used.
    EventFactory.create(visitor=shopper, product=products[1])
    cache.generation_bump(cache.RECOMMENDATIONS, shopper.external_id)
    assert read(shopper.external_id) == (database(shopper.external_id), False)
    assert read(shopper.external_id)[1]
    # A product deleted takes its events with it.
    with django_capture_on_commit_callbacks(execute=True):
        products[1].delete()
    assert read(shopper.external_id) == (database(shopper.external_id), False)
    # An import.
    kept_history.histories_forget()
    assert read(shopper.external_id)[1] is False


def test_moved_and_reversed_events_are_read_again(products, django_capture_on_commit_callbacks):
    browser = VisitorFactory.create()
    user = UserFactory.create()
    account = VisitorFactory.create(user=user)
    for visitor in (browser, account):
        record(django_capture_on_commit_callbacks, [
            EventInput(visitor=visitor.external_id, product_id=products[2].pk,
                       event_type=EventType.PURCHASE, metadata={"order": "A-1"}),
        ])  # fmt: skip
        read(visitor.external_id)
    with django_capture_on_commit_callbacks(execute=True):
        visitor_sign_in(visitor=browser.external_id, user=user)
    assert read(account.external_id) == (database(account.external_id), False)
    assert len(database(account.external_id)) == 4  # two events, two purchases
    purchase = Event.objects.filter(visitor=account, event_type=EventType.PURCHASE)[0]
    Event.objects.filter(pk=purchase.pk).update(order_ref="A-1", source="storefront")
    with django_capture_on_commit_callbacks(execute=True):
        assert order_purchases_reverse(order_number="A-1", visitor_id=account.pk) == 1
    assert read(account.external_id) == (database(account.external_id), False)


def test_a_deleted_visitors_history_is_not_read_for_a_new_one_of_the_same_id(
    products, django_capture_on_commit_callbacks
):
    shopper = VisitorFactory.create()
    viewed(django_capture_on_commit_callbacks, shopper.external_id, products[3].pk)
    read(shopper.external_id)
    with django_capture_on_commit_callbacks(execute=True):
        shopper.delete()
    again = Visitor.objects.create(external_id=shopper.external_id)
    assert read(again.external_id) == ([], False)


def test_the_learned_list_is_read_again_after_the_nightly_ranking(products):
    shopper = VisitorFactory.create()
    LearnedRecommendation.objects.create(
        visitor=shopper, product=products[4], score=0.5, computed_at=timezone.now()
    )
    assert read(shopper.external_id) == (database(shopper.external_id), False)
    rows = read(shopper.external_id)[0]
    assert [row[1] for row in rows if row[0] == history.LEARNED] == [products[4].pk]
    LearnedRecommendation.objects.filter(visitor=shopper).update(product=products[5])
    # The ranking bumps the family once its lists are committed.
    cache.generation_bump(cache.RECOMMENDATIONS)
    rows = read(shopper.external_id)[0]
    assert [row[1] for row in rows if row[0] == history.LEARNED] == [products[5].pk]
    assert rows == database(shopper.external_id)


def test_a_history_read_before_an_event_is_not_kept(products, django_capture_on_commit_callbacks):
    """The list's lookup read the generation, then an event was stored: what was read from
    the database may lack it, so it is not kept."""
    shopper = VisitorFactory.create().external_id

    def compute() -> list[tuple[Any, ...]]:
        record(django_capture_on_commit_callbacks, [
            EventInput(visitor=shopper, product_id=products[6].pk, event_type=EventType.VIEW),
        ])  # fmt: skip
        return rows_of(history._history_columns(shopper, *LENGTHS.values()))

    with writes_batched():
        cache.cached(cache.RECOMMENDATIONS, "kept-race", timeout=60, compute=compute,
                     scope=shopper)  # fmt: skip
    rows, from_redis = read(shopper)
    assert (rows, from_redis) == (database(shopper), False)
    assert len(rows) == 1


def test_events_changed_by_staff_are_read_again(
    products, admin_client, django_capture_on_commit_callbacks
):
    """Saved or deleted in the admin (the ORM), not through the event services."""
    shopper = VisitorFactory.create()
    EventFactory.create(visitor=shopper, product=products[0])
    read(shopper.external_id)
    assert read(shopper.external_id)[1]
    added = EventFactory.create(visitor=shopper, product=products[1])
    assert read(shopper.external_id) == (database(shopper.external_id), False)
    assert len(database(shopper.external_id)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:tracking_event_delete", args=[added.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert read(shopper.external_id) == (database(shopper.external_id), False)
    assert len(database(shopper.external_id)) == 1
