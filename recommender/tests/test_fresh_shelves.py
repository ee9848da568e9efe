"""Every change to what a shelf shows of a product reaches every cached shelf and endpoint on
the next request: each field of a listed product is changed after every shelf was cached."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from catalog.models import Product
from catalog.services import CheckoutDetails, order_place
from tracking.tests.factories import visitor_pk

pytestmark = pytest.mark.django_db


def section(html: str, opening: str, closing: str = "</section>") -> str:
    found = re.search(rf"{re.escape(opening)}.*?{re.escape(closing)}", html, flags=re.DOTALL)
    return found.group(0) if found else ""


def shelves(client, api: APIClient, shop) -> dict[str, str]:
    """What every shelf and endpoint that lists the teapot shows, by name."""
    mug = shop["mug"]
    home = client.get("/").content.decode()
    product_page = client.get(mug.get_absolute_url()).content.decode()
    category_page = client.get("/c/kitchen/").content.decode()
    search_page = client.get("/search/", {"q": "kitchen"}).content.decode()
    return {
        "home: recommended for you": section(home, 'aria-labelledby="home_for_you"'),
        "home: trending now": section(home, 'aria-labelledby="home_trending"'),
        "product: also viewed": section(product_page, 'aria-labelledby="product_similar"'),
        "product: bought together": section(product_page, '<section class="bought-together"'),
        "category: trending in": section(category_page, 'aria-labelledby="category_trending"'),
        "api: recommendations": api.get("/api/recommendations?visitor=ann").content.decode(),
        "api: trending": api.get("/api/trending").content.decode(),
        "api: similar": api.get(f"/api/products/{mug.pk}/similar").content.decode(),
        "category: products": section(category_page, '<form class="filters"', "</main>"),
        "search: results": section(search_page, '<p class="count">', "</main>"),
        "api: search": api.get("/api/products?search=kitchen").content.decode(),
        "api: category listing": api.get("/api/products?category=kitchen").content.decode(),
    }  # fmt: skip


def change(field: str, value: object) -> Callable[[dict[str, Any]], None]:
    def apply(shop: dict[str, Any]) -> None:
        teapot = Product.objects.get(pk=shop["teapot"].pk)
        setattr(teapot, field, shop[str(value)] if field == "category" else value)
        teapot.save()

    return apply


# The bought-together box shows names and prices, no pictures.
WITHOUT_PICTURES = {"product: bought together"}


@pytest.mark.parametrize(
    ("edit", "shown", "not_shown_on"),
    [
        (change("name", "Copper Kettle"), "Copper Kettle", set()),
        (change("price", Decimal("99.99")), "99.99", set()),
        (
            change("image_url", "https://images.example.com/kettle.jpg"),
            "images.example.com/kettle",
            WITHOUT_PICTURES,
        ),
    ],
    ids=["name", "price", "image"],
)
def test_a_changed_product_shows_its_new_value_on_every_shelf(
    client, api, shop, committed, edit, shown, not_shown_on
):
    client.get(shop["mug"].get_absolute_url())  # the page's visitor viewed the mug too
    before = shelves(client, api, shop)
    assert all("Brown Teapot" in shown_there for shown_there in before.values()), before
    with committed():
        edit(shop)
    after = shelves(client, api, shop)
    assert {name for name, html in after.items() if shown not in html} == not_shown_on


@pytest.mark.parametrize(
    "edit",
    [change("stock", 0), change("is_active", False)],
    ids=["sold out", "deactivated"],
)
def test_a_product_that_cannot_be_bought_leaves_every_shelf(client, api, shop, committed, edit):
    client.get(shop["mug"].get_absolute_url())
    shelves(client, api, shop)
    with committed():
        edit(shop)
    after = shelves(client, api, shop)
    assert {name for name, html in after.items() if "Brown Teapot" in html} == set()


def test_a_product_moved_to_another_category_is_listed_under_the_new_one(
    client, api, shop, committed
):
    client.get(shop["mug"].get_absolute_url())
    shelves(client, api, shop)
    with committed():
        change("category", "garden")(shop)
    after = shelves(client, api, shop)
    moved_out = {"category: trending in", "category: products", "api: category listing"}
    assert {name for name in moved_out if "Brown Teapot" in after[name]} == set()
    assert "Brown Teapot" in section(
        client.get("/c/garden/").content.decode(), 'aria-labelledby="category_trending"'
    )
    similar = api.get(f"/api/products/{shop['mug'].pk}/similar").json()
    assert similar["items"][0]["product"]["category"]["name"] == "Garden"


def test_a_checkout_that_sells_the_last_one_takes_it_off_the_shelves(client, api, shop, committed):
    Product.objects.filter(pk=shop["teapot"].pk).update(stock=1)
    client.get(shop["mug"].get_absolute_url())
    shelves(client, api, shop)
    with committed():
        order_place(
            checkout_token="last-teapot",
            quantities={shop["teapot"].pk: 1},
            details=CheckoutDetails("Ada", "ada@example.com", "1 Road", "pay_on_delivery"),
            visitor_id=visitor_pk("someone-else"),
            user=None,
        )
    after = shelves(client, api, shop)
    assert {name for name, html in after.items() if "Brown Teapot" in html} == set()


def test_a_price_change_in_the_admin_shows_on_the_home_page_at_the_next_reload(
    client, shop, committed
):
    client.get(shop["mug"].get_absolute_url())
    assert "31.99" in section(client.get("/").content.decode(), 'aria-labelledby="home_trending"')
    staff = Client()  # a second browser: the admin's
    staff.force_login(User.objects.create_superuser("boss", "boss@example.com", "x"))
    teapot = shop["teapot"]
    form = staff.get(f"/admin/catalog/product/{teapot.pk}/change/")
    assert form.status_code == 200
    data = {
        field: json.dumps(value) if isinstance(value, dict) else value
        for field, value in Product.objects.filter(pk=teapot.pk).values()[0].items()
        if value is not None
    }
    data |= {"category": teapot.category_id, "price": "99.99"}
    for formset in form.context["inline_admin_formsets"]:  # the product's reviews, unchanged
        management = formset.formset.management_form
        data |= {management.add_prefix(name): value for name, value in management.initial.items()}
    with committed():
        saved = staff.post(f"/admin/catalog/product/{teapot.pk}/change/", data)
    assert saved.status_code == 302
    home = client.get("/").content.decode()
    assert "99.99" in section(home, 'aria-labelledby="home_trending"')
    assert "31.99" not in section(home, 'aria-labelledby="home_trending"')
