"""Event ingestion: POST /api/events with one event or a batch of up to 500."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import product_ids_named
from infrastructure.api.access import (
    ScopedWindowRateThrottle,
    acts_for_any_visitor,
    visitor_allowed,
)
from tracking.models import EventSource, EventType
from tracking.serializers import (
    MAX_BATCH,
    EventBatchResultSerializer,
    EventInSerializer,
    EventOutSerializer,
    events_represented,
)
from tracking.services import (
    EventIdTakenError,
    EventInput,
    UnknownProductsError,
    events_record,
)

ItemErrors = dict[int, dict[str, list[str]]]

NO_SUCH_PRODUCT = "No such product."


class InvalidEventsError(Exception):
    def __init__(self, errors: ItemErrors) -> None:
        super().__init__(errors)
        self.errors = errors


EVENT_OR_SUMMARY = PolymorphicProxySerializer(
    component_name="EventOrBatchResult",
    serializers=[EventOutSerializer, EventBatchResultSerializer],
    resource_type_field_name=None,
)


class EventsView(APIView):
    """Record a shopper's views, add-to-carts and purchases.

    Send one event object, or a list of up to 500. A batch is stored all or nothing: if any
    item is invalid, the answer is 400 with each bad item's index and field messages. An
    event_id already stored answers 200 with the stored event (a replay), never a duplicate.
    """

    throttle_classes = [ScopedWindowRateThrottle]
    throttle_scope = "events"
    error_statuses = (400, 401, 403, 429)

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="EventOrBatch",
            serializers=[EventInSerializer, EventInSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: OpenApiResponse(
                EVENT_OR_SUMMARY,
                description="Stored: the event (one sent) or the batch's summary (a list sent).",
            ),
            200: OpenApiResponse(EVENT_OR_SUMMARY, description="Every event was stored already."),
        },
    )
    def post(self, request: Request) -> Response:
        single = isinstance(request.data, dict)
        items = [request.data] if single else request.data
        if not isinstance(items, list) or not 0 < len(items) <= MAX_BATCH:
            raise ValidationError(
                {"non_field_errors": [f"Send one event object or a list of 1 to {MAX_BATCH}."]}
            )
        try:
            events = self._validated(request, items)
            try:
                recorded = events_record(events=events, source=EventSource.API)
            except EventIdTakenError as error:
                message = "Already used by another visitor's event."
                taken = {i: {"event_id": [message]} for i in error.positions}
                raise InvalidEventsError(taken) from error
            except UnknownProductsError as error:
                unknown = {i: {"product": [NO_SUCH_PRODUCT]} for i in error.positions}
                raise InvalidEventsError(unknown) from error
        except InvalidEventsError as invalid:
            return self._invalid(invalid.errors, single)
        created = sum(event.created for event in recorded)
        answer_status = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        if single:
            return Response(events_represented(recorded)[0], status=answer_status)
        body = {
            "created": created,
            "replayed": len(recorded) - created,
            "events": events_represented(recorded),
        }
        return Response(body, status=answer_status)

    def _validated(self, request: Request, items: list[Any]) -> list[EventInput]:
        any_visitor = acts_for_any_visitor(request)
        own = None if any_visitor else visitor_allowed(request, None)
        valid, errors = _items_validated(items)
        for index, data in valid.items():
            visitor = data.get("visitor")
            if own is not None and visitor not in (None, own):
                raise PermissionDenied("Only the token's or the browser's own visitor's events.")
            if any_visitor and not visitor:
                errors[index] = {"visitor": ["This field is required with an API token."]}
        seen: set[str] = set()
        for index, data in valid.items():
            event_id = data.get("event_id")
            if event_id in seen:
                errors.setdefault(index, {})["event_id"] = ["Repeated within the batch."]
            elif event_id:
                seen.add(event_id)
        references = [data["product"] for data in valid.values()]
        if errors or any(isinstance(reference, str) for reference in references):
            products = product_ids_named(references)
            for index, data in valid.items():
                if data["product"] not in products:
                    errors.setdefault(index, {})["product"] = [NO_SUCH_PRODUCT]
        else:
            # Ids alone: events_record checks them as it stores the events, which for one
            # event saves a round trip (an invalid item's answer still names them all).
            products = {reference: reference for reference in references}
        if errors:
            raise InvalidEventsError(errors)
        return [
            EventInput(
                visitor=data.get("visitor") or own or "",
                product_id=products[data["product"]],
                event_type=EventType(data["event_type"]),
                occurred_at=data.get("occurred_at"),
                session_id=data.get("session_id", ""),
                metadata=data.get("metadata", {}),
                **({"event_id": data["event_id"]} if data.get("event_id") else {}),
            )
            for data in valid.values()
        ]

    @staticmethod
    def _invalid(errors: ItemErrors, single: bool) -> Response:
        if single:
            return Response(errors[0], status=status.HTTP_400_BAD_REQUEST)
        body = {
            "detail": f"{len(errors)} of the events are invalid; none was stored.",
            "items": [{"index": i, "errors": e} for i, e in sorted(errors.items())],
        }
        return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _items_validated(items: list[Any]) -> tuple[dict[int, dict[str, Any]], ItemErrors]:
    """Each valid item's data and each invalid one's field messages, by position.

    One list serializer validates a batch: a serializer per item would copy its fields 500
    times, which cost a batch most of its time. When some item is invalid, each is validated
    on its own instead, so the valid ones' data still reaches the checks that follow (every
    bad item's messages, those checks' included, come in one answer)."""
    if len(items) > 1:
        listed = EventInSerializer(data=items, many=True)
        if listed.is_valid():
            return dict(enumerate(listed.validated_data)), {}
    # One event goes here at once: a list serializer would make a child serializer of its own.
    errors: ItemErrors = {}
    valid: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(items):
        serializer = EventInSerializer(data=item)
        if serializer.is_valid():
            valid[index] = serializer.validated_data
        else:
            errors[index] = serializer.errors
    return valid, errors
