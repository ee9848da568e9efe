"""A whole app journey over the API: sign up, browse, check out (twice with one idempotency
key: one order), read the orders, cancel (the stock comes back), with the emails received by
a real SMTP server; and what a shopper may not do."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from catalog.models import Order, OrderStatus, Product
from catalog.tests.factories import ProductFactory
from tracking.models import Event, EventType

pytestmark = pytest.mark.django_db

PASSWORD = "a long shopper passphrase"
DETAILS = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.com",
    "address": "1 Road",
    "payment_method": "pay_on_delivery",
}


def shopper(username: str = "ada") -> APIClient:
    app = APIClient()
    session = app.post(
        "/api/auth/signup",
        {"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        format="json",
    ).json()
    app.credentials(HTTP_AUTHORIZATION=f"Token {session['token']}")
    return app


def test_an_apps_whole_journey_over_the_api(smtp, committed):
    mug = ProductFactory.create(name="Blue Mug", stock=5)
    app = shopper()
    assert app.get(f"/api/products/{mug.pk}").status_code == 200
    body = {"lines": [{"product": mug.pk, "quantity": 2}], **DETAILS}
    with committed():
        first = app.post("/api/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        again = app.post("/api/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    number = first.json()["number"]
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=mug.pk).stock == 3
    purchases = Event.objects.filter(event_type=EventType.PURCHASE)
    assert purchases.get().visitor.user == User.objects.get(username="ada")
    assert [o["number"] for o in app.get("/api/orders").json()] == [number]
    assert app.get(f"/api/orders/{number}").json()["lines"][0]["quantity"] == 2
    with committed():
        cancelled = app.post(f"/api/orders/{number}/cancel")
    assert cancelled.json()["status"] == OrderStatus.CANCELLED
    assert Product.objects.get(pk=mug.pk).stock == 5
    assert app.post(f"/api/orders/{number}/cancel").status_code == 200  # twice: no change
    assert Product.objects.get(pk=mug.pk).stock == 5
    assert not purchases.exists()  # revenue and recommendations stop counting it
    assert [m["Subject"] for m in smtp.inbox.messages] == [
        f"Your ShopSmart order {number} is placed",
        f"Your ShopSmart order {number} is cancelled",
    ]


def test_another_shoppers_order_is_not_found_and_a_shipped_one_not_cancelled():
    mug = ProductFactory.create(stock=5)
    ada, bob = shopper("ada"), shopper("bob")
    body = {"lines": [{"product": mug.pk, "quantity": 1}], **DETAILS}
    number = ada.post("/api/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="k").json()["number"]
    assert bob.get(f"/api/orders/{number}").status_code == 404
    assert bob.post(f"/api/orders/{number}/cancel").status_code == 404
    assert bob.get("/api/orders").json() == []
    # Bob's own key "k" is his, not Ada's order.
    assert bob.post("/api/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    Order.objects.filter(number=number).update(status=OrderStatus.SHIPPED)
    refused = ada.post(f"/api/orders/{number}/cancel")
    assert refused.status_code == 400
    assert "shipped" in refused.json()["status"][0]


@pytest.mark.parametrize(
    ("change", "headers", "field"),
    [
        ({}, {}, "Idempotency-Key"),
        ({"lines": []}, {"HTTP_IDEMPOTENCY_KEY": "k"}, "lines"),
        ({"lines": [{"product": 1, "quantity": 0}]}, {"HTTP_IDEMPOTENCY_KEY": "k"}, "lines"),
        ({"email": "nope"}, {"HTTP_IDEMPOTENCY_KEY": "k"}, "email"),
        ({"payment_method": "iou"}, {"HTTP_IDEMPOTENCY_KEY": "k"}, "payment_method"),
        ({"lines": [{"product": 1, "quantity": 9}]}, {"HTTP_IDEMPOTENCY_KEY": "k"}, "lines"),
    ],
    ids=["no key", "no lines", "zero quantity", "bad email", "unknown payment", "too many"],
)
def test_a_bad_checkout_gets_field_errors_and_changes_nothing(change, headers, field):
    mug = ProductFactory.create(pk=1, stock=5)
    body = {"lines": [{"product": mug.pk, "quantity": 1}], **DETAILS, **change}
    answer = shopper().post("/api/orders", body, format="json", **headers)
    assert answer.status_code == 400
    assert field in answer.json()
    assert not Order.objects.exists()
    assert Product.objects.get(pk=mug.pk).stock == 5


def test_orders_need_a_signed_in_shopper():
    assert APIClient().get("/api/orders").status_code == 401
    assert APIClient().post("/api/orders", {}, format="json").status_code == 401


def test_an_apps_cart_is_filled_changed_and_checked_out(committed):
    mug, teapot = (ProductFactory.create(name=n, stock=4) for n in ("Blue Mug", "Teapot"))
    app = shopper()
    assert app.post("/api/cart", {"product": mug.pk}, format="json").status_code == 201
    cart = app.post("/api/cart", {"product": mug.pk, "quantity": 2}, format="json").json()
    assert [(line["product"]["name"], line["quantity"]) for line in cart["lines"]] == [
        ("Blue Mug", 3)
    ]
    app.post("/api/cart", {"product": teapot.pk}, format="json")
    # Each add is a cart event of the shopper's visitor, as on the pages.
    adds = Event.objects.filter(event_type=EventType.ADD_TO_CART)
    assert adds.count() == 3
    assert {event.visitor.user.username for event in adds} == {"ada"}  # type: ignore[union-attr]
    too_many = app.patch(f"/api/cart/{mug.pk}", {"quantity": 9}, format="json")
    assert too_many.status_code == 400
    assert "only 4 left" in too_many.json()["quantity"][0]
    assert app.patch(f"/api/cart/{mug.pk}", {"quantity": 1}, format="json").json()["count"] == 2
    assert app.delete(f"/api/cart/{teapot.pk}").status_code == 204
    assert app.post("/api/cart", {"product": 999_999}, format="json").status_code == 404
    with committed():
        placed = app.post("/api/orders", DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="cart-1")
        again = app.post("/api/orders", DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="cart-1")
    assert (placed.status_code, again.status_code) == (201, 200)
    assert [(line["product_name"], line["quantity"]) for line in placed.json()["lines"]] == [
        ("Blue Mug", 1)
    ]
    assert app.get("/api/cart").json()["lines"] == []
    assert Order.objects.count() == 1


def test_checking_out_an_empty_cart_is_refused():
    answer = shopper().post("/api/orders", DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="e")
    assert answer.status_code == 400
    assert answer.json()["lines"] == ["Your cart is empty."]
