"""The shopper's emails about an order, through a real SMTP server (the `smtp` fixture)."""

from __future__ import annotations

import pytest

from catalog.models import Order
from catalog.services import CheckoutDetails, order_cancel, order_place
from catalog.tests.factories import ProductFactory
from infrastructure.mail.tests.smtp import parts
from tracking.tests.factories import visitor_pk

pytestmark = pytest.mark.django_db


def place_order() -> Order:
    mug = ProductFactory.create(name="Blue Mug", stock=5)
    return order_place(
        checkout_token="token",
        quantities={mug.pk: 2},
        details=CheckoutDetails("Ada Lovelace", "ada@example.com", "1 Road", "pay_on_delivery"),
        visitor_id=visitor_pk("ada"),
        user=None,
    ).order


def test_an_order_confirmation_is_emailed_in_text_and_html(smtp, committed, settings):
    settings.SITE_URL = "https://shop.example.com"
    with committed():
        order = place_order()
    [received] = smtp.inbox.messages
    assert received["To"] == "ada@example.com"
    assert received["Subject"] == f"Your ShopSmart order {order.number} is placed"
    body = parts(received)
    assert set(body) == {"text/plain", "text/html"}
    for text in body.values():
        assert "Blue Mug" in text
        assert f"https://shop.example.com/orders/{order.number}/" in text


def test_a_cancelled_order_is_emailed_once(smtp, committed):
    with committed():
        order = place_order()
    with committed():
        order_cancel(order=order)
        order_cancel(order=order)  # again: nothing more happens, nothing more is sent
    assert [message["Subject"] for message in smtp.inbox.messages] == [
        f"Your ShopSmart order {order.number} is placed",
        f"Your ShopSmart order {order.number} is cancelled",
    ]


def test_an_smtp_outage_never_stops_an_order(smtp, committed):
    smtp.stop()
    with committed():
        order = place_order()
    assert Order.objects.filter(pk=order.pk).exists()
    assert smtp.inbox.messages == []
