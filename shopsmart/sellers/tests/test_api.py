"""Sellers list, change, restock, withdraw and relist their own products over the API, never
another seller's; they see their own lines of orders and figures per product; bad input gets
field errors and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import Product, SellerProfile
from catalog.services import order_cancel
from catalog.tests.factories import CategoryFactory
from shopsmart.sellers.tests.conftest import order_placed
from tracking.models import EventType
from tracking.tests.factories import EventFactory, UserFactory, role_member

pytestmark = pytest.mark.django_db


def seller(name: str) -> APIClient:
    user = role_member("Seller", username=name)
    SellerProfile.objects.create(user=user, display_name=name.title(), contact_email=f"{name}@x.io")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def kitchen():
    return CategoryFactory.create(name="Kitchen")


def listing(kitchen: Any, **change: Any) -> dict[str, Any]:
    return {
        "name": "Hand-thrown Mug",
        "description": "Stoneware, 300 ml.",
        "price": "14.50",
        "stock": 6,
        "category": kitchen.pk,
        "image_url": "https://images.example.com/mug.jpg",
        **change,
    }


def test_a_seller_lists_restocks_and_withdraws_a_product_that_shoppers_then_see(kitchen):
    potter = seller("potter")
    made = potter.post("/api/seller/products", listing(kitchen), format="json")
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    shop = APIClient()
    assert shop.get(f"/api/products/{pk}").json()["name"] == "Hand-thrown Mug"
    assert "Hand-thrown Mug" in shop.get("/api/products", {"search": "stoneware"}).content.decode()
    restocked = potter.patch(
        f"/api/seller/products/{pk}", {"stock": 20, "price": "12.00"}, format="json"
    )
    assert (restocked.json()["stock"], restocked.json()["price"]) == (20, "12.00")
    assert shop.get(f"/api/products/{pk}").json()["price"] == "12.00"
    assert potter.delete(f"/api/seller/products/{pk}").status_code == 204
    assert shop.get(f"/api/products/{pk}").status_code == 404
    [mine] = potter.get("/api/seller/products").json()
    assert mine["is_active"] is False


def test_a_seller_never_sees_or_changes_another_sellers_product(kitchen):
    potter, weaver = seller("potter"), seller("weaver")
    pk = potter.post("/api/seller/products", listing(kitchen), format="json").json()["id"]
    assert weaver.get(f"/api/seller/products/{pk}").status_code == 404
    assert (
        weaver.patch(f"/api/seller/products/{pk}", {"stock": 0}, format="json").status_code == 404
    )
    assert weaver.delete(f"/api/seller/products/{pk}").status_code == 404
    assert weaver.get("/api/seller/products").json() == []
    product = Product.objects.get(pk=pk)
    assert (product.stock, product.is_active) == (6, True)


def test_only_sellers_may_use_the_seller_api(kitchen):
    shopper = APIClient()
    shopper.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory.create()).key}"
    )
    assert shopper.get("/api/seller/products").status_code == 403
    assert shopper.post("/api/seller/products", listing(kitchen), format="json").status_code == 403
    assert APIClient().get("/api/seller/products").status_code == 401
    # The role without a seller profile is not enough either.
    role_only = APIClient()
    role_only.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=role_member('Seller')).key}"
    )
    assert role_only.get("/api/seller/products").status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "0"}, "price"),
        ({"price": "-3"}, "price"),
        ({"stock": -1}, "stock"),
        ({"image_url": "javascript:alert(1)"}, "image_url"),
        ({"image_url": "ftp://example.com/a.jpg"}, "image_url"),
        ({"category": 999_999}, "category"),
        ({"name": ""}, "name"),
    ],
    ids=[
        "free",
        "negative price",
        "negative stock",
        "script url",
        "ftp url",
        "no category",
        "no name",
    ],
)
def test_a_bad_listing_gets_a_field_error_and_saves_nothing(kitchen, change, field):
    answer = seller("potter").post(
        "/api/seller/products", listing(kitchen, **change), format="json"
    )
    assert answer.status_code == 400
    assert field in answer.json()
    assert not Product.objects.exists()


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_a_withdrawn_product_goes_back_on_sale(kitchen):
    potter = seller("potter")
    pk = potter.post("/api/seller/products", listing(kitchen), format="json").json()["id"]
    potter.delete(f"/api/seller/products/{pk}")
    back = potter.patch(f"/api/seller/products/{pk}", {"is_active": True}, format="json")
    assert back.json()["is_active"] is True
    assert APIClient().get(f"/api/products/{pk}").status_code == 200


def test_a_seller_sees_only_their_own_lines_of_an_order(marketplace):
    order = marketplace["order"]
    lines = token_client(marketplace["potter_user"]).get("/api/seller/order-lines").json()
    assert lines["count"] == 1
    [line] = lines["results"]
    assert (line["order"], line["product_name"], line["quantity"]) == (
        order.number,
        "Stoneware mug",
        2,
    )
    assert line["line_total"] == str(marketplace["mug"].price * 2)
    assert line["ship_to"] == "Ada Buyer"
    [theirs] = (
        token_client(marketplace["weaver_user"]).get("/api/seller/order-lines").json()["results"]
    )
    assert theirs["product_name"] == "Wool rug"
    # Neither sees the order's total, the buyer's email or the other seller's line.
    assert "Wool rug" not in str(lines)
    assert "ada@example.com" not in str(lines)


def test_a_seller_sees_views_clicks_carts_and_sales_of_each_product(marketplace):
    mug, rug = marketplace["mug"], marketplace["rug"]
    shopper = EventFactory.create(product=mug, event_type=EventType.VIEW).visitor
    EventFactory.create(product=mug, visitor=shopper, metadata={"rec": "similar"})
    EventFactory.create(product=mug, visitor=shopper, event_type=EventType.ADD_TO_CART)
    EventFactory.create(product=rug, event_type=EventType.VIEW)
    cancelled = order_placed({mug: 5})
    order_cancel(order=cancelled)
    # Views older than the period asked do not count.
    EventFactory.create(product=mug, occurred_at=timezone.now() - timedelta(days=10))

    figures = token_client(marketplace["potter_user"]).get("/api/seller/figures?days=7").json()
    assert figures["days"] == 7
    [row] = figures["products"]
    assert row["product"] == mug.pk
    assert (row["views"], row["recommendation_clicks"], row["add_to_carts"]) == (2, 1, 1)
    assert row["add_to_cart_rate"] == 0.5
    # The placed order's 2 mugs; the cancelled order's 5 do not count.
    assert (row["units_sold"], row["orders"], row["revenue"]) == (2, 1, str(mug.price * 2))
    assert figures["revenue"] == str(mug.price * 2)


@pytest.mark.parametrize("days", ["0", "366", "week"])
def test_figures_of_a_period_that_cannot_be_get_a_field_error(marketplace, days):
    answer = token_client(marketplace["potter_user"]).get(f"/api/seller/figures?days={days}")
    assert answer.status_code == 400
    assert "days" in answer.json()


def test_shoppers_get_no_seller_lines_or_figures(marketplace):
    shopper = token_client(UserFactory.create())
    assert shopper.get("/api/seller/order-lines").status_code == 403
    assert shopper.get("/api/seller/figures").status_code == 403
