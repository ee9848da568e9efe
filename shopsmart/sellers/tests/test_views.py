"""The seller area of the shop: a seller lists, changes, withdraws and relists products and
reads their order lines and figures on pages, never another seller's; shoppers have none."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from catalog.models import Product
from tracking.tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(kitchen: Any, **change: Any) -> dict[str, Any]:
    return {
        "name": "Linen apron",
        "description": "Washed linen, one size.",
        "price": "24.00",
        "stock": "4",
        "category": str(kitchen.pk),
        "image_url": "https://images.example.com/apron.jpg",
        **change,
    }


def test_a_seller_lists_a_product_from_the_seller_pages(marketplace):
    potter = signed_in(marketplace["potter_user"])
    page = potter.get("/seller/products/new/")
    assert page.status_code == 200
    answer = potter.post("/seller/products/new/", form(marketplace["kitchen"]), follow=True)
    assert "Linen apron is saved." in answer.content.decode()
    apron = Product.objects.get(name="Linen apron")
    assert (apron.seller, apron.is_active, apron.stock) == (marketplace["potter"], True, 4)
    assert Client().get(apron.get_absolute_url()).status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"price": "0"}, "greater than or equal to 0.01"),
        ({"stock": "-2"}, "greater than or equal to 0"),
        ({"image_url": "ftp://example.com/a.jpg"}, "http or https address"),
        ({"name": ""}, "This field is required"),
    ],
    ids=["free", "negative stock", "ftp image", "no name"],
)
def test_a_bad_listing_shows_the_field_error_and_saves_nothing(marketplace, change, message):
    potter = signed_in(marketplace["potter_user"])
    answer = potter.post("/seller/products/new/", form(marketplace["kitchen"], **change))
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert not Product.objects.filter(name="Linen apron").exists()


def test_a_seller_restocks_withdraws_and_relists_their_product(marketplace):
    potter, mug = signed_in(marketplace["potter_user"]), marketplace["mug"]
    potter.post(
        f"/seller/products/{mug.pk}/", form(marketplace["kitchen"], name=mug.name, stock="50")
    )
    mug.refresh_from_db()
    assert mug.stock == 50
    potter.post(f"/seller/products/{mug.pk}/withdraw/")
    assert Client().get(mug.get_absolute_url()).status_code == 404
    potter.post(f"/seller/products/{mug.pk}/relist/")
    assert Client().get(mug.get_absolute_url()).status_code == 200


def test_another_sellers_product_is_not_found_on_the_seller_pages(marketplace):
    weaver, mug = signed_in(marketplace["weaver_user"]), marketplace["mug"]
    assert weaver.get(f"/seller/products/{mug.pk}/").status_code == 404
    changed = weaver.post(f"/seller/products/{mug.pk}/", form(marketplace["kitchen"], stock="0"))
    assert changed.status_code == 404
    assert weaver.post(f"/seller/products/{mug.pk}/withdraw/").status_code == 404
    mug.refresh_from_db()
    assert (mug.stock, mug.is_active) == (18, True)
    assert "Stoneware mug" not in weaver.get("/seller/").content.decode()


def test_the_products_page_shows_each_products_figures_and_a_chart(marketplace):
    mug = marketplace["mug"]
    EventFactory.create(product=mug, metadata={"rec": "similar"})
    page = signed_in(marketplace["potter_user"]).get("/seller/?days=7").content.decode()
    assert "Stoneware mug" in page
    assert "Wool rug" not in page
    assert "<svg" in page
    assert "Stoneware mug (views)" in page
    assert "1 view, 2 sold" in page


def test_order_lines_page_shows_only_the_sellers_lines(marketplace):
    page = signed_in(marketplace["weaver_user"]).get("/seller/orders/").content.decode()
    assert marketplace["order"].number in page
    assert "Wool rug" in page
    assert "Stoneware mug" not in page


def test_shoppers_have_no_seller_area_and_guests_are_asked_to_sign_in(marketplace):
    assert signed_in(UserFactory.create()).get("/seller/").status_code == 403
    guest = Client().get("/seller/")
    assert guest.status_code == 302
    assert "/account/login/" in guest["Location"]
    # Only sellers are shown the way in.
    shop_link = 'href="/seller/"'
    assert shop_link in signed_in(marketplace["potter_user"]).get("/").content.decode()
    assert shop_link not in signed_in(UserFactory.create()).get("/").content.decode()
