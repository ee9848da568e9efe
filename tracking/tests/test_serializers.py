from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from rest_framework import serializers

from tracking.models import EventType
from tracking.serializers import EventOutSerializer
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
