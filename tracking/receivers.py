"""How the tracking app reacts to what the catalog tells it."""

from __future__ import annotations

from typing import Any

from catalog.models import Order
from tracking.models import EventSource, EventType, Visitor
from tracking.services import EventInput, events_record, order_purchases_reverse


def order_purchases_record(sender: type, *, order: Order, session_id: str, **kwargs: Any) -> None:
    """One purchase event per line of a placed order, in the order's transaction; the order
    number makes their event ids, so a replayed order records nothing twice."""
    visitor = Visitor.objects.values_list("external_id", flat=True).get(pk=order.visitor_id)
    events_record(
        events=[
            EventInput(
                visitor=visitor,
                product_id=line.product_id,
                event_type=EventType.PURCHASE,
                event_id=f"order-{order.number}-{line.product_id}",
                occurred_at=order.created_at,
                session_id=session_id,
                metadata={
                    "order": order.number,
                    "quantity": line.quantity,
                    "revenue": f"{line.total:.2f}",
                },
            )
            for line in order.lines.order_by("product_id")
        ],
        source=EventSource.STOREFRONT,
    )


def order_purchases_cancel(sender: type, *, order: Order, **kwargs: Any) -> None:
    """A cancelled order's purchase events are reversed in the cancelling transaction."""
    order_purchases_reverse(order_number=order.number, visitor_id=order.visitor_id)
