from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from rest_framework import serializers

from tracking.models import EventType
from tracking.serializers import EventInSerializer, EventOutSerializer, events_represented
from tracking.services import RecordedEvent


@pytest.mark.parametrize("created", [True, False])
@pytest.mark.parametrize(
    "occurred_at",
    [datetime(2026, 12, 1, 10, 30, 0, 123456, tzinfo=UTC),
     datetime(2026, 7, 1, 10, 30, tzinfo=ZoneInfo("America/New_York"))],
)  # fmt: skip
@override_settings(TIME_ZONE="Europe/London")
def test_an_events_quick_representation_is_what_its_fields_give(created, occurred_at):
    event = RecordedEvent(
        event_id="e-1",
        visitor="v-1",
        product_id=7,
        event_type=EventType.PURCHASE,
        occurred_at=occurred_at,
        session_id="",
        metadata={"quantity": 2, "note": ["a", 1.5]},
        created=created,
    )
    serializer = EventOutSerializer()
    by_fields = serializers.Serializer.to_representation(serializer, event)
    assert serializer.to_representation(event) == by_fields
    assert list(EventOutSerializer([event], many=True).data) == [by_fields]
    assert by_fields["status"] == ("created" if created else "replayed")


@override_settings(TIME_ZONE="Europe/London")
def test_a_batchs_events_are_each_represented_as_their_fields_give():
    stored = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    times = [
        stored,
        stored,
        stored.astimezone(ZoneInfo("Asia/Tokyo")),  # the same instant, written otherwise
        datetime(2026, 7, 1, 10, 30, tzinfo=ZoneInfo("America/New_York")),
        stored,
    ]
    events = [
        RecordedEvent(
            event_id=f"e-{number}",
            visitor="v-1",
            product_id=number,
            event_type=EventType.VIEW,
            occurred_at=when,
            session_id="",
            metadata={},
            created=number % 2 == 0,
        )
        for number, when in enumerate(times)
    ]
    serializer = EventOutSerializer()
    by_fields = [serializers.Serializer.to_representation(serializer, e) for e in events]
    assert events_represented(events) == by_fields
    assert by_fields[2]["occurred_at"] == by_fields[0]["occurred_at"]


VALID_EVENTS = [
    {"visitor": "v-1", "product": 7, "event_type": "view"},
    {"event_id": "e.1:a_b-c", "visitor": "v-1", "product": "85123A", "event_type": "purchase",
     "occurred_at": "2026-12-01T10:30:00.123456+02:00", "session_id": "",
     "metadata": {"quantity": 2, "unit_price": "2.50", "order": "APP-7"}},
    {"product": 2**63 - 1, "event_type": "add_to_cart", "session_id": "s-1", "metadata": {}},
    {"visitor": "v\u00e9-\U0001f600", "product": 7, "event_type": "view"},
]  # fmt: skip
INVALID_EVENTS = [
    {},
    {"visitor": "v\x00", "product": True, "event_type": "look"},
    {"event_id": "has space", "product": 7, "event_type": "view", "metadata": []},
    {"product": 7, "event_type": "view", "occurred_at": "2999-01-01T00:00:00Z"},
    {"visitor": "v-\ud83d", "product": 7, "event_type": "view", "session_id": "\udfff"},
]


@pytest.mark.parametrize("item", VALID_EVENTS + INVALID_EVENTS)
def test_an_event_is_validated_as_drfs_own_loop_would(item):
    def outcome(validate):
        serializer = EventInSerializer()
        try:
            return "valid", validate(serializer, item)
        except serializers.ValidationError as error:
            return "invalid", error.detail

    quick = outcome(EventInSerializer.to_internal_value)
    assert quick == outcome(serializers.Serializer.to_internal_value)
    assert quick[0] == ("valid" if item in VALID_EVENTS else "invalid")
