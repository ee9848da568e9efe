"""Event ingestion: what API clients send and what they get back."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from infrastructure.api.access import VISITOR_MAX_LENGTH
from infrastructure.api.flat import FlatSerializer
from tracking.models import EventType
from tracking.sales import SaleError, sale_of

MAX_BATCH = 500
MAX_METADATA_BYTES = 4096
# Clocks differ: an event may claim to be a little in the future, not more.
CLOCK_SKEW = timedelta(minutes=5)


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 64}],
        "description": "The product's id (a number) or its external id (a string).",
    }
)
class ProductReferenceField(serializers.Field[Any, Any, Any, Any]):
    default_error_messages = {"invalid": "A product id (number) or external id (string)."}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        # What no product could be named by (nor the database hold): a NUL byte, an id
        # beyond a bigint.
        if isinstance(data, str) and (not 0 < len(data) <= 64 or "\x00" in data):
            self.fail("invalid")
        if isinstance(data, int) and not 0 < data < 2**63:
            self.fail("invalid")
        reference: int | str = data
        return reference

    def to_representation(self, value: Any) -> Any:
        return value


# Flat: a batch validates 500 of these (infrastructure.api.flat).
class EventInSerializer(FlatSerializer):
    event_id = serializers.RegexField(
        r"^[A-Za-z0-9_.:-]{1,64}$",
        required=False,
        help_text="Idempotency key: sending the same event_id again stores nothing new.",
    )
    visitor = serializers.CharField(
        required=False,
        max_length=VISITOR_MAX_LENGTH,
        help_text="The visitor's external id (created if unknown); "
        "required with a token, else the cookie's visitor.",
    )
    product = ProductReferenceField()
    event_type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    session_id = serializers.CharField(required=False, max_length=64, allow_blank=True)
    metadata = serializers.DictField(
        required=False,
        help_text="Anything up to 4 KB of JSON. A purchase may say what it sold: `quantity` "
        "(default 1), `revenue` (the line's total) or `unit_price` (default: the product's "
        "price), and `order` (lines of one order count as one order).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["event_type"] == EventType.PURCHASE:
            try:
                sale_of(attrs.get("metadata", {}), price=None)
            except SaleError as error:
                raise serializers.ValidationError({"metadata": [str(error)]}) from error
        return attrs

    def validate_occurred_at(self, value: Any) -> Any:
        if value > timezone.now() + CLOCK_SKEW:
            raise serializers.ValidationError("Must not be in the future.")
        return value

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > MAX_METADATA_BYTES:
            raise serializers.ValidationError(f"At most {MAX_METADATA_BYTES} bytes of JSON.")
        return value


class EventOutSerializer(serializers.Serializer[Any]):
    """A recorded event (tracking.services.RecordedEvent), as stored."""

    event_id = serializers.CharField(max_length=64)
    visitor = serializers.CharField()
    product = serializers.IntegerField(source="product_id")
    event_type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField()
    session_id = serializers.CharField(max_length=64, allow_blank=True)
    metadata = serializers.JSONField()
    status = serializers.SerializerMethodField(help_text="created, or replayed (already stored).")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return events_represented([instance])[0]

    @extend_schema_field(OpenApiTypes.STR)
    def get_status(self, event: Any) -> str:
        return _status(event)


def _status(event: Any) -> str:
    return "created" if event.created else "replayed"


def events_represented(events: Sequence[Any]) -> list[dict[str, Any]]:
    """Each recorded event as EventOutSerializer represents it: what DRF's field-by-field
    representation gives (a test compares the two), without its per-field lookups. A batch
    answers with up to 500 of these, and that loop took a seventh of the batch's time; each
    distinct time is formatted once (a batch's new events share the time they were stored
    at), since equal times give equal text in the request's time zone."""
    field = _occurred_at()
    times: dict[Any, Any] = {}
    represented = []
    for event in events:
        when = times.get(event.occurred_at)
        if when is None:
            when = times[event.occurred_at] = field.to_representation(event.occurred_at)
        represented.append(
            {
                "event_id": event.event_id,
                "visitor": event.visitor,
                "product": event.product_id,
                "event_type": event.event_type,
                "occurred_at": when,
                "session_id": event.session_id,
                "metadata": event.metadata,
                "status": _status(event),
            }
        )
    return represented


@functools.cache
def _occurred_at() -> serializers.DateTimeField:
    """EventOutSerializer's occurred_at field, made once per process: a serializer copies
    its declared fields for every instance (infrastructure.api.flat)."""
    return cast(serializers.DateTimeField, EventOutSerializer().fields["occurred_at"])


class EventBatchResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    replayed = serializers.IntegerField()
    events = EventOutSerializer(many=True)
