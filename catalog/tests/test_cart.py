from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.cart import CartError, cart_read, cart_set
from catalog.tests.factories import ProductFactory
from tracking.models import Event, EventType

pytestmark = pytest.mark.django_db


def add(client: Client, product, quantity="1"):
    return client.post(reverse("catalog:cart_add", args=[product.pk]), {"quantity": quantity})


def update(client: Client, product, quantity):
    return client.post(reverse("catalog:cart_update", args=[product.pk]), {"quantity": quantity})


def test_adding_shows_the_line_and_totals_and_records_an_add_to_cart_event(client):
    mug = ProductFactory.create(name="Mug", price="4.50", stock=5)
    client.get(reverse("catalog:home"))
    response = add(client, mug, "2")
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:cart")
    add(client, mug, "1")
    page = client.get(reverse("catalog:cart")).content.decode()
    assert "Mug" in page
    assert 'value="3"' in page
    assert "£13.50" in page
    assert "Total (3 items)" in page
    events = Event.objects.filter(event_type=EventType.ADD_TO_CART)
    assert events.count() == 2
    assert {e.session_id for e in events} == {client.session.session_key}


def test_more_than_the_stock_is_refused_and_nothing_changes(client):
    mug = ProductFactory.create(name="Mug", stock=2)
    add(client, mug, "2")
    response = add(client, mug, "1")
    assert response["Location"] == mug.get_absolute_url()
    page = client.get(mug.get_absolute_url()).content.decode()
    assert "Mug: only 2 left." in page
    assert cart_read(client.session).count == 2
    assert Event.objects.filter(event_type=EventType.ADD_TO_CART).count() == 1


@pytest.mark.parametrize("quantity", ["x", "0", "-1", "100", ""])
def test_a_bad_quantity_adds_nothing(client, quantity):
    mug = ProductFactory.create(stock=200)
    add(client, mug, quantity)
    assert cart_read(client.session).count == 0


def test_an_out_of_stock_or_withdrawn_product_cannot_be_added(client):
    sold_out = ProductFactory.create(name="Kettle", stock=0)
    add(client, sold_out)
    assert "Kettle: out of stock." in client.get(sold_out.get_absolute_url()).content.decode()
    withdrawn = ProductFactory.create(is_active=False)
    assert add(client, withdrawn).status_code == 404
    assert cart_read(client.session).count == 0


def test_quantities_change_and_lines_go(client):
    mug, cup = ProductFactory.create(stock=9), ProductFactory.create(stock=9)
    add(client, mug)
    add(client, cup)
    update(client, mug, "4")
    update(client, cup, "0")
    cart = cart_read(client.session)
    assert [(line.product, line.quantity) for line in cart.lines] == [(mug, 4)]
    update(client, mug, "x")
    assert cart_read(client.session).count == 4


def test_the_cart_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    mug = ProductFactory.create(stock=3)
    assert add(client, mug).status_code == 403
    page = client.get(mug.get_absolute_url()).content.decode()
    assert "csrfmiddlewaretoken" in page


def cart_count(client: Client) -> int:
    return sum(line["quantity"] for line in client.get("/api/cart").json()["lines"])


def test_the_cart_survives_signing_in_and_joins_the_accounts_cart(client):
    mug, jug = ProductFactory.create(stock=5), ProductFactory.create(stock=5)
    User.objects.create_user("ann", password="a long passphrase!")
    # Ann's app holds one mug already.
    app = APIClient()
    credentials = {"username": "ann", "password": "a long passphrase!"}
    token = app.post("/api/auth/login", credentials, format="json").json()["token"]
    app.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    app.post("/api/cart", {"product": mug.pk, "quantity": 1}, format="json")
    add(client, mug, "2")
    add(client, jug, "1")
    client.post(reverse("login"), {"username": "ann", "password": "a long passphrase!"})
    assert cart_count(client) == 4
    assert cart_count(app) == 4
    # The app changes it; the browser sees the change.
    app.delete(f"/api/cart/{jug.pk}")
    assert cart_count(client) == 3
    # Signing out leaves the cart with the account, not in the browser.
    client.post(reverse("logout"))
    assert cart_read(client.session).count == 0
    assert cart_count(app) == 3


def test_a_line_shows_when_its_product_sold_out_since_and_deleted_ones_go():
    session: dict[str, object] = {}
    mug = ProductFactory.create(price="2.00", stock=3)
    gone = ProductFactory.create(stock=3)
    cart_set(session, product=mug, quantity=3)
    cart_set(session, product=gone, quantity=1)
    gone.delete()
    mug.stock = 1
    mug.save()
    cart = cart_read(session)
    assert [line.product for line in cart.lines] == [mug]
    assert cart.total == Decimal("6.00")
    assert not cart.can_check_out
    with pytest.raises(CartError):
        cart_set(session, product=mug, quantity=2)


def test_frequently_bought_together_adds_the_ticked_products_in_one_click(client):
    from recommender.tests.factories import BoughtTogetherFactory

    teapot = ProductFactory.create(name="Teapot", stock=5)
    tea = ProductFactory.create(name="Tea", stock=5)
    cosy = ProductFactory.create(name="Tea cosy", stock=5)
    BoughtTogetherFactory.create(product=teapot, similar_product=tea, score=0.9, co_occurrence=7)
    BoughtTogetherFactory.create(product=teapot, similar_product=cosy, score=0.5)
    page = client.get(teapot.get_absolute_url()).content.decode()
    assert "Frequently bought together" in page
    assert "Bought together in 7 orders" in page
    assert "Add all 3 to cart" in page

    response = client.post(
        reverse("catalog:cart_add_together", args=[teapot.pk]), {"products": [teapot.pk, tea.pk]}
    )
    assert response["Location"] == reverse("catalog:cart")
    assert {line.product.name: line.quantity for line in cart_read(client.session).lines} == {
        "Teapot": 1,
        "Tea": 1,
    }
    added = Event.objects.filter(event_type=EventType.ADD_TO_CART)
    assert {e.metadata["rec"] for e in added} == {"product_bought_together"}
    assert added.count() == 2


def test_bought_together_adds_what_it_can_and_says_what_it_could_not(client):
    teapot = ProductFactory.create(name="Teapot", stock=5)
    gone = ProductFactory.create(name="Tea", stock=0)
    client.post(
        reverse("catalog:cart_add_together", args=[teapot.pk]), {"products": [teapot.pk, gone.pk]}
    )
    assert [line.product.name for line in cart_read(client.session).lines] == ["Teapot"]
    assert "Tea: out of stock." in client.get(reverse("catalog:cart")).content.decode()
    response = client.post(
        reverse("catalog:cart_add_together", args=[teapot.pk]), {"products": [999999]}
    )
    assert response["Location"] == teapot.get_absolute_url()


def test_no_bought_together_section_without_pairs(client):
    teapot = ProductFactory.create(stock=5)
    assert (
        "Frequently bought together" not in client.get(teapot.get_absolute_url()).content.decode()
    )
