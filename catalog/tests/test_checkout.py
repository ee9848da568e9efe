from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Order, OrderLine, PaymentStatus, Product
from catalog.services import CheckoutDetails, CheckoutError, order_place
from catalog.tests.factories import ProductFactory
from shopsmart.tests.concurrency import at_once
from tracking.models import Event, EventType
from tracking.tests.factories import UserFactory, visitor_pk

pytestmark = pytest.mark.django_db

DETAILS = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.com",
    "address": "12 St James's Square\nLondon SW1Y 4JH",
    "payment_method": "pay_on_delivery",
}


def fill_cart(client: Client, *lines: tuple[Product, int]) -> None:
    for product, quantity in lines:
        client.post(reverse("catalog:cart_add", args=[product.pk]), {"quantity": quantity})


def checkout_token(client: Client) -> str:
    page = client.get(reverse("catalog:checkout")).content.decode()
    found = re.search(r'name="token" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


def place(client: Client, token: str, **changes: str):
    return client.post(reverse("catalog:checkout"), {**DETAILS, "token": token, **changes})


def test_checkout_places_the_order_takes_the_stock_and_records_purchases(client):
    mug = ProductFactory.create(name="Mug", price="4.50", stock=5)
    tea = ProductFactory.create(name="Tea", price="3.00", stock=1)
    fill_cart(client, (mug, 2), (tea, 1))
    response = place(client, checkout_token(client))

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert order.total == Decimal("12.00")
    assert order.payment_status == PaymentStatus.DUE_ON_DELIVERY
    assert order.full_name == "Ada Lovelace"
    assert [(line.product_name, line.quantity, line.unit_price) for line in order.lines.all()] == [
        ("Mug", 2, Decimal("4.50")),
        ("Tea", 1, Decimal("3.00")),
    ]
    assert Product.objects.get(pk=mug.pk).stock == 3
    assert Product.objects.get(pk=tea.pk).stock == 0
    purchases = Event.objects.filter(event_type=EventType.PURCHASE).order_by("product_id")
    assert [(e.product_id, e.metadata["quantity"], e.metadata["order"]) for e in purchases] == [
        (mug.pk, 2, order.number),
        (tea.pk, 1, order.number),
    ]
    assert {e.session_id for e in purchases} == {client.session.session_key}
    assert {e.visitor.external_id for e in purchases} == {order.visitor.external_id}

    confirmation = client.get(response["Location"]).content.decode()
    assert f"Order {order.number} is placed" in confirmation
    assert "12 St James&#x27;s Square<br>London SW1Y 4JH" in confirmation
    assert "Your cart is empty" in client.get(reverse("catalog:cart")).content.decode()


def test_submitting_the_same_form_twice_places_one_order(client):
    mug = ProductFactory.create(stock=5)
    fill_cart(client, (mug, 2))
    token = checkout_token(client)
    first = place(client, token)
    fill_cart(client, (mug, 1))  # even if the cart changed in between
    second = place(client, token)
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=mug.pk).stock == 3
    assert Event.objects.filter(event_type=EventType.PURCHASE).count() == 1


def test_an_invalid_form_is_shown_again_with_field_errors_and_places_nothing(client):
    mug = ProductFactory.create(stock=5)
    fill_cart(client, (mug, 1))
    token = checkout_token(client)
    response = place(client, token, email="not-an-email", full_name="", payment_method="bitcoin")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid email address." in page
    assert "This field is required." in page
    assert "Select a valid choice." in page
    assert not Order.objects.exists()
    assert Product.objects.get(pk=mug.pk).stock == 5


def test_a_form_from_another_session_is_refused(client):
    mug = ProductFactory.create(stock=5)
    fill_cart(client, (mug, 1))
    checkout_token(client)
    response = place(client, "f" * 32)
    assert response["Location"] == reverse("catalog:checkout")
    assert not Order.objects.exists()


def test_an_empty_cart_cannot_check_out(client):
    assert client.get(reverse("catalog:checkout"))["Location"] == reverse("catalog:cart")
    response = place(client, "a" * 32)
    assert response["Location"] == reverse("catalog:cart")
    assert not Order.objects.exists()


def test_stock_gone_since_the_cart_was_filled_sends_the_shopper_back_to_the_cart(client):
    mug = ProductFactory.create(name="Mug", stock=5)
    tea = ProductFactory.create(name="Tea", stock=5)
    fill_cart(client, (mug, 3), (tea, 1))
    token = checkout_token(client)
    Product.objects.filter(pk=mug.pk).update(stock=2)
    response = place(client, token)
    assert response["Location"] == reverse("catalog:cart")
    assert (
        "Mug: only 2 left (you asked for 3)."
        in client.get(reverse("catalog:cart")).content.decode()
    )
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert Product.objects.get(pk=tea.pk).stock == 5  # nothing half-taken
    assert not Event.objects.filter(event_type=EventType.PURCHASE).exists()


def test_checkout_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    mug = ProductFactory.create(stock=5)
    client.get(reverse("catalog:home"))
    session = client.session
    session["cart"] = {str(mug.pk): 1}
    session.save()
    response = place(client, "a" * 32)
    assert response.status_code == 403
    assert not Order.objects.exists()


def test_only_the_session_or_account_that_placed_an_order_can_see_it(client):
    mug = ProductFactory.create(stock=5)
    fill_cart(client, (mug, 1))
    url = place(client, checkout_token(client))["Location"]
    assert client.get(url).status_code == 200
    assert Client().get(url).status_code == 404
    stranger = Client()
    stranger.force_login(UserFactory.create())
    assert stranger.get(url).status_code == 404


def test_a_signed_in_shopper_s_order_is_theirs_and_the_form_knows_them(client):
    user = UserFactory.create(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    client.force_login(user)
    mug = ProductFactory.create(stock=5)
    fill_cart(client, (mug, 1))
    page = client.get(reverse("catalog:checkout")).content.decode()
    assert 'value="Ada Lovelace"' in page
    place(client, checkout_token(client))
    order = Order.objects.get()
    assert order.user == user
    assert order.number in client.get(reverse("account")).content.decode()


def _details() -> CheckoutDetails:
    return CheckoutDetails(**DETAILS)


def test_the_service_refuses_an_unknown_payment_method_and_an_empty_cart():
    mug = ProductFactory.create(stock=5)
    with pytest.raises(CheckoutError, match="payment method"):
        order_place(
            checkout_token="t1",
            quantities={mug.pk: 1},
            details=CheckoutDetails(**{**DETAILS, "payment_method": "iou"}),
            visitor_id=visitor_pk("v1"),
            user=None,
        )
    with pytest.raises(CheckoutError, match="empty"):
        order_place(
            checkout_token="t2",
            quantities={},
            details=_details(),
            visitor_id=visitor_pk("v1"),
            user=None,
        )
    assert not Order.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_never_oversell():
    """20 shoppers at once for the last 10 units: exactly 10 orders, stock 0, never below."""
    mug = ProductFactory.create(stock=10)

    def shopper(number: int) -> str:
        try:
            order_place(
                checkout_token=f"token-{number}",
                quantities={mug.pk: 1},
                details=_details(),
                visitor_id=visitor_pk(f"visitor-{number}"),
                user=None,
            )
        except CheckoutError:
            return "sold out"
        return "placed"

    outcomes = at_once(shopper, 20)
    assert sorted(outcomes) == ["placed"] * 10 + ["sold out"] * 10
    assert Product.objects.get(pk=mug.pk).stock == 0
    assert Order.objects.count() == 10
    assert Event.objects.filter(event_type=EventType.PURCHASE).count() == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_form_submitted_concurrently_places_one_order():
    mug = ProductFactory.create(stock=10)

    def submit(_number: int) -> str:
        placed = order_place(
            checkout_token="same-form",
            quantities={mug.pk: 2},
            details=_details(),
            visitor_id=visitor_pk("visitor-1"),
            user=None,
        )
        return placed.order.number

    numbers = at_once(submit, 4)
    assert len(numbers) == 4
    assert len(set(numbers)) == 1
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=mug.pk).stock == 8
