from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from catalog.tests.factories import CategoryFactory, ProductFactory
from infrastructure.api.access import SearchThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def kitchen():
    kitchen = CategoryFactory.create(name="Kitchen")
    cups = CategoryFactory.create(name="Cups", parent=kitchen)
    garden = CategoryFactory.create(name="Garden")
    products = {
        "mug": ProductFactory.create(name="Blue ceramic mug", category=cups, price=Decimal("8")),
        "teapot": ProductFactory.create(name="Teapot", category=kitchen, price=Decimal("30")),
        "rake": ProductFactory.create(name="Garden rake", category=garden, price=Decimal("20")),
        "hidden": ProductFactory.create(name="Old mug", category=cups, is_active=False),
        "sold_out": ProductFactory.create(name="Red mug", category=cups, stock=0),
    }
    return {"kitchen": kitchen, "cups": cups, **products}


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["results"]]


def test_products_list_only_browsable_products_with_the_card_shape(api, kitchen):
    response = api.get("/api/products")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert names(response) == ["Blue ceramic mug", "Garden rake", "Teapot"]
    card = body["results"][0]
    assert card == {
        "id": kitchen["mug"].pk,
        "external_id": kitchen["mug"].external_id,
        "name": "Blue ceramic mug",
        "price": "8.00",
        "url": kitchen["mug"].get_absolute_url(),
        "image_url": kitchen["mug"].image_url,
        "category": {"id": kitchen["cups"].pk, "name": "Cups", "slug": "cups"},
    }


@pytest.mark.parametrize("value", ["kitchen", "id"])
def test_category_filter_takes_an_id_or_slug_and_includes_sub_categories(api, kitchen, value):
    category = str(kitchen["kitchen"].pk) if value == "id" else "kitchen"
    response = api.get("/api/products", {"category": category})
    assert names(response) == ["Blue ceramic mug", "Teapot"]


def test_a_misspelt_parameter_is_a_400_naming_it_not_an_unfiltered_answer(api, kitchen):
    # Found by Schemathesis: unknown parameters were ignored.
    for path in ("/api/products", "/api/trending", "/api/recommendations"):
        response = api.get(path, {"catgory": "kitchen"})
        assert response.status_code == 400
        assert response.json() == {"catgory": ["Not a parameter of this operation."]}
    assert api.get("/api/products", {"page": 1, "page_size": 5}).status_code == 200


@pytest.mark.parametrize("value", ["\u00b2", "9" * 30, "no-such-slug"])
def test_a_category_that_names_nothing_is_a_400(api, kitchen, value):
    # "²" passes str.isdigit() but not int(): found by Schemathesis as a 500.
    for path in ("/api/products", "/api/trending"):
        response = api.get(path, {"category": value})
        assert response.status_code == 400
        assert "No category with id or slug" in response.json()["category"][0]


def test_price_range_and_ordering(api, kitchen):
    response = api.get("/api/products", {"min_price": "10", "ordering": "-price"})
    assert names(response) == ["Teapot", "Garden rake"]
    response = api.get("/api/products", {"ordering": "price"})
    assert names(response) == ["Blue ceramic mug", "Garden rake", "Teapot"]


def test_search_finds_names_even_with_a_typo_on_postgresql(api, kitchen):
    assert names(api.get("/api/products", {"search": "mug"})) == ["Blue ceramic mug"]
    if connection.vendor == "postgresql":
        assert names(api.get("/api/products", {"search": "tepot"})) == ["Teapot"]


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"min_price": "-1"}, "min_price"),
        ({"min_price": "30", "max_price": "10"}, "max_price"),
        ({"ordering": "colour"}, "ordering"),
        ({"category": "no-such-category"}, "category"),
        ({"page_size": "101"}, "page_size"),
    ],
)
def test_bad_filters_are_400_with_field_messages(api, kitchen, parameters, field):
    response = api.get("/api/products", parameters)
    assert response.status_code == 400
    assert field in response.json()


def test_pagination_defaults_to_20_and_caps_at_100(api):
    ProductFactory.create_batch(25)
    body = api.get("/api/products").json()
    assert (body["count"], len(body["results"])) == (25, 20)
    assert body["next"] is not None
    assert len(api.get("/api/products", {"page_size": 100}).json()["results"]) == 25
    assert api.get("/api/products", {"page": 9}).status_code == 404


def test_product_detail_and_unknown_product(api, kitchen):
    body = api.get(f"/api/products/{kitchen['sold_out'].pk}").json()
    assert (body["name"], body["in_stock"], body["stock"]) == ("Red mug", False, 0)
    assert api.get(f"/api/products/{kitchen['hidden'].pk}").status_code == 404
    assert api.get("/api/products/999999").status_code == 404


def test_categories_are_a_tree(api, kitchen):
    tree = api.get("/api/categories").json()
    assert [node["name"] for node in tree] == ["Garden", "Kitchen"]
    assert [child["name"] for child in tree[1]["children"]] == ["Cups"]


def test_searches_are_limited_per_client_and_listings_are_not(api, kitchen, monkeypatch):
    monkeypatch.setattr(SearchThrottle, "rate", "3/minute", raising=False)
    # The limit counts per clock minute: hold the clock mid-minute, so one window holds all.
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 20, tzinfo=UTC), tick=False):
        answers = [api.get("/api/products", {"search": "mug"}).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        limited = api.get("/api/products", {"search": "teapot"})
        assert int(limited["Retry-After"]) == 40
    assert api.get("/api/products").status_code == 200


def test_a_page_past_the_end_is_a_404_however_large(api, kitchen):
    """Found by Schemathesis: a page number in the billions overflowed the database's OFFSET."""
    for page in ("99", "3202188348328803646188751656321024"):
        answer = api.get("/api/products", {"page": page})
        assert answer.status_code == 404
