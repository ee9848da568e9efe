from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from infrastructure import cache
from tracking.models import Event, EventSource, EventType, Visitor
from tracking.services import EventInput, events_record, storefront_event_record
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
    assert stored == event
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


@pytest.mark.parametrize(
    "record", [_seen_on_the_storefront, _seen_in_an_api_batch], ids=["storefront", "api"]
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
