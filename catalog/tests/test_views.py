from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.tests.factories import CategoryFactory, ProductFactory, ReviewFactory

pytestmark = pytest.mark.django_db


def test_home_lists_top_categories_and_new_products(client):
    parent = CategoryFactory.create(name="Kitchen")
    CategoryFactory.create(name="Cookware", parent=parent)
    ProductFactory.create(name="Enamel Mug", category=parent)
    page = client.get(reverse("catalog:home")).content.decode()
    assert "Kitchen" in page
    assert "Cookware" not in page
    assert "Enamel Mug" in page


def test_empty_store_home_says_how_to_load_demo_data(client):
    assert "seed_demo" in client.get(reverse("catalog:home")).content.decode()


def test_category_page_includes_sub_categories_and_hides_unbuyable(client):
    parent = CategoryFactory.create(name="Kitchen")
    child = CategoryFactory.create(name="Cookware", parent=parent)
    ProductFactory.create(name="Saucepan", category=child)
    ProductFactory.create(name="Retired Teapot", category=parent, is_active=False)
    ProductFactory.create(name="Sold-out Kettle", category=parent, stock=0)
    page = client.get(reverse("catalog:category_detail", args=[parent.slug])).content.decode()
    assert "Saucepan" in page
    assert "Retired Teapot" not in page
    assert "Sold-out Kettle" not in page


def test_product_page_shows_reviews_and_escapes_them(client):
    review = ReviewFactory.create(comment="<script>alert(1)</script>", rating=5)
    response = client.get(review.product.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert review.product.name in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_product_url_with_an_old_slug_redirects_permanently(client):
    product = ProductFactory.create()
    response = client.get(reverse("catalog:product_detail", args=[product.pk, "old-name"]))
    assert response.status_code == 301
    assert response["Location"] == product.get_absolute_url()


def test_inactive_product_is_not_found(client):
    product = ProductFactory.create(is_active=False)
    assert client.get(product.get_absolute_url()).status_code == 404


def test_placeholder_image_is_a_cacheable_svg_with_escaped_label(client):
    url = reverse("catalog:placeholder_image", kwargs={"theme": "toys-and-games", "key": "x1"})
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "immutable" in response["Cache-Control"]
    body = response.content.decode()
    assert body.startswith("<svg")
    assert "Toys And Games" in body
    assert client.get(url).content == response.content


def test_pages_answer_head_requests(client):
    product = ProductFactory.create()
    assert client.head(reverse("catalog:home")).status_code == 200
    assert client.head(product.get_absolute_url()).status_code == 200
