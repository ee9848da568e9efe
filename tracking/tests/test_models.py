from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tracking.models import EVENT_WEIGHTS, Event, EventType
from tracking.tests.factories import EventFactory, VisitorFactory

pytestmark = pytest.mark.django_db


def test_unknown_event_type_is_rejected():
    with pytest.raises(IntegrityError), transaction.atomic():
        EventFactory.create(event_type="wishlist")


def test_unknown_source_is_rejected():
    with pytest.raises(IntegrityError), transaction.atomic():
        EventFactory.create(source="carrier-pigeon")


def test_duplicate_event_id_is_rejected():
    first = EventFactory.create(event_id="retry-me")
    with pytest.raises(IntegrityError), transaction.atomic():
        EventFactory.create(event_id="retry-me", visitor=first.visitor, product=first.product)
    assert Event.objects.filter(event_id="retry-me").count() == 1


def test_events_get_a_unique_event_id_when_none_is_given():
    first, second = EventFactory.create(), EventFactory.create()
    assert first.event_id
    assert first.event_id != second.event_id


def test_visitor_external_id_is_unique():
    VisitorFactory.create(external_id="17850")
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitorFactory.create(external_id="17850")


def test_event_weights_follow_the_funnel():
    assert EVENT_WEIGHTS == {EventType.VIEW: 1, EventType.ADD_TO_CART: 3, EventType.PURCHASE: 5}
    assert EventFactory.create(event_type=EventType.PURCHASE).weight == 5
