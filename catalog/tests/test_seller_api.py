"""Sellers list, change, restock and withdraw their own products over the API, never another
seller's; bad input gets field errors and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import Product, SellerProfile
from catalog.tests.factories import CategoryFactory
from tracking.tests.factories import UserFactory, role_member

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
