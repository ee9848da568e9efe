from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from catalog.services import product_ratings_refresh
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


def test_opening_a_product_records_a_view_with_the_session_and_the_clicked_widget(client):
    from tracking.models import Event, EventSource, EventType

    product = ProductFactory.create()
    client.get(reverse("catalog:home"))
    visitor = client.cookies[settings.VISITOR_COOKIE_NAME].value
    client.get(product.get_absolute_url() + "?rec=home_for_you&strategy=personalised")
    client.get(product.get_absolute_url() + "?rec=<script>&strategy=personalised")
    client.head(product.get_absolute_url())  # a HEAD is nobody looking
    first, second = Event.objects.order_by("id")
    assert (first.visitor.external_id, first.product, first.event_type, first.source) == (
        visitor,
        product,
        EventType.VIEW,
        EventSource.STOREFRONT,
    )
    assert first.session_id == client.session.session_key != ""
    assert first.metadata == {"rec": "home_for_you", "strategy": "personalised"}
    assert second.metadata == {}


def test_the_home_page_turns_personal_after_browsing(client, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from recommender import pipelines
    from tracking.tests.factories import EventFactory, VisitorFactory

    kitchen = CategoryFactory.create(name="Kitchen")
    mug, teapot, cup = (
        ProductFactory.create(name=name, category=kitchen) for name in ("Mug", "Teapot", "Cup")
    )
    for _ in range(3):
        shopper = VisitorFactory.create()
        for product in (mug, teapot, cup):
            EventFactory.create(
                visitor=shopper, product=product, occurred_at=timezone.now() - timedelta(days=1)
            )
    pipelines.trending_compute(now=timezone.now())
    pipelines.similarity_compute(now=timezone.now())
    first = client.get(reverse("catalog:home")).content.decode()
    assert "Trending now" in first
    assert "Recommended for you" not in first
    assert "?rec=home_trending&amp;strategy=global_trending" in first
    with django_capture_on_commit_callbacks(execute=True):
        client.get(mug.get_absolute_url())
    after = client.get(reverse("catalog:home")).content.decode()
    assert "Recommended for you" in after
    assert "Because you just viewed Mug" in after
    # Two personalised products of eight: the list's strategy is the category fill's.
    assert "?rec=home_for_you&amp;strategy=category_trending" in after


@pytest.fixture
def kitchen_shelves():
    """Three shoppers viewed the mug, the teapot and the cup; trending and neighbours computed."""
    from datetime import timedelta

    from django.utils import timezone

    from recommender import pipelines
    from tracking.tests.factories import EventFactory, VisitorFactory

    kitchen = CategoryFactory.create(name="Kitchen", slug="kitchen")
    products = {
        name: ProductFactory.create(name=name, category=kitchen)
        for name in ("Mug", "Teapot", "Cup")
    }
    for _ in range(3):
        shopper = VisitorFactory.create()
        for product in products.values():
            EventFactory.create(
                visitor=shopper, product=product, occurred_at=timezone.now() - timedelta(days=1)
            )
    pipelines.trending_compute(now=timezone.now())
    pipelines.similarity_compute(now=timezone.now())
    return {"kitchen": kitchen, **products}


def test_product_page_shows_similar_and_the_shoppers_own_recent_views(client, kitchen_shelves):
    mug, teapot = kitchen_shelves["Mug"], kitchen_shelves["Teapot"]
    page = client.get(mug.get_absolute_url()).content.decode()
    assert "Customers who viewed this also viewed" in page
    assert f"{teapot.get_absolute_url()}?rec=product_similar&amp;strategy=item_similarity" in page
    assert "Recently viewed" not in page  # only the mug itself so far
    page = client.get(teapot.get_absolute_url()).content.decode()
    recent = page[page.index("Recently viewed") :]
    assert "Mug" in recent
    assert "Teapot" not in recent


def test_category_page_shows_what_trends_in_it_on_its_first_page(client, kitchen_shelves):
    page = client.get(reverse("catalog:category_detail", args=["kitchen"])).content.decode()
    assert "Trending in Kitchen" in page
    assert "?rec=category_trending&amp;strategy=category_trending" in page


def test_search_finds_by_name_with_filters_and_pages(client):
    kitchen, garden = CategoryFactory.create(slug="kitchen"), CategoryFactory.create(slug="garden")
    ProductFactory.create(name="Blue Teapot", category=kitchen, price="20.00")
    ProductFactory.create(name="Green Teapot", category=garden, price="50.00")
    ProductFactory.create(name="Rake", category=garden, price="10.00")
    page = client.get(reverse("catalog:search"), {"q": "teapot"}).content.decode()
    assert "Blue Teapot" in page
    assert "Green Teapot" in page
    assert "Rake" not in page
    page = client.get(
        reverse("catalog:search"), {"q": "teapot", "category": "garden", "max_price": "60"}
    ).content.decode()
    assert "Green Teapot" in page
    assert "Blue Teapot" not in page
    ProductFactory.create_batch(30, name="Teapot spare lid", category=kitchen)
    first = client.get(reverse("catalog:search"), {"q": "teapot"}).content.decode()
    assert "Page 1 of 2" in first
    assert "?q=teapot&amp;page=2" in first
    assert (
        "Page 2 of 2"
        in client.get(reverse("catalog:search"), {"q": "teapot", "page": 2}).content.decode()
    )


@pytest.mark.postgres
def test_search_tolerates_typos_on_postgresql(client):
    ProductFactory.create(name="Enamel Teapot")
    page = client.get(reverse("catalog:search"), {"q": "tepot"}).content.decode()
    assert "Enamel Teapot" in page


def test_a_search_without_results_suggests_trending_products(client, kitchen_shelves):
    page = client.get(reverse("catalog:search"), {"q": "zzzz"}).content.decode()
    assert "Nothing matches “zzzz”" in page
    assert "Trending now" in page
    assert "?rec=search_empty_trending" in page


@pytest.mark.parametrize(
    "filters",
    [{"min_price": "-1"}, {"min_price": "10", "max_price": "5"}, {"category": "nope"},
     {"q": "x" * 201}],
)  # fmt: skip
def test_bad_search_filters_answer_400_with_the_message(client, filters):
    response = client.get(reverse("catalog:search"), filters)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_every_page_has_the_labelled_search_box(client):
    page = client.get(reverse("catalog:home")).content.decode()
    assert '<label for="site-search"' in page
    assert 'role="search"' in page


def test_pages_make_as_many_queries_whatever_they_show(client, kitchen_shelves):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tracking.models import Visitor
    from tracking.tests.factories import EventFactory

    kitchen, mug = kitchen_shelves["kitchen"], kitchen_shelves["Mug"]
    client.get(mug.get_absolute_url())  # the shopper has a history
    shopper = Visitor.objects.get(external_id=client.cookies[settings.VISITOR_COOKIE_NAME].value)
    pages = [
        reverse("catalog:home"),
        reverse("catalog:category_detail", args=["kitchen"]),
        mug.get_absolute_url(),
        reverse("catalog:search") + "?q=teapot",
    ]

    def queries_per_page() -> list[int]:
        counts = []
        for page in pages:
            client.get(page)  # shared caches warm, as in a running shop
            with CaptureQueriesContext(connection) as queries:
                assert client.get(page).status_code == 200
            counts.append(len(queries))
        return counts

    for product in ProductFactory.create_batch(2, category=kitchen, name="Teapot"):
        EventFactory.create(visitor=shopper, product=product)
    few = queries_per_page()
    for product in ProductFactory.create_batch(30, category=kitchen, name="Teapot"):
        EventFactory.create(visitor=shopper, product=product)
    many = queries_per_page()
    assert many == few
    assert max(few) <= 12, few


def _names_in_grid(page: str) -> list[str]:
    grid = page[page.index('<div class="grid">') :]
    return re.findall(r"<h3>([^<]+)</h3>", grid)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["Bowl", "Cup", "Jug"]),
        ("price", ["Cup", "Jug", "Bowl"]),
        ("-price", ["Bowl", "Jug", "Cup"]),
        ("rating", ["Jug", "Cup", "Bowl"]),
        ("newest", ["Jug", "Cup", "Bowl"]),
        ("popularity", ["Cup", "Bowl", "Jug"]),
    ],
)
def test_category_page_sorts(client, sort, expected):
    from recommender.tests.factories import TrendingScoreFactory

    kitchen = CategoryFactory.create(slug="kitchen")
    bowl = ProductFactory.create(category=kitchen, name="Bowl", price="9.00", average_rating="3")
    cup = ProductFactory.create(category=kitchen, name="Cup", price="2.00", average_rating="4")
    ProductFactory.create(category=kitchen, name="Jug", price="5.00", average_rating="5")
    TrendingScoreFactory.create(product=cup, window="30d", score=9.0)
    TrendingScoreFactory.create(product=bowl, window="30d", score=1.0)
    url = reverse("catalog:category_detail", args=["kitchen"])
    page = client.get(url, {"sort": sort}).content.decode()
    assert _names_in_grid(page) == expected


def test_category_page_filters_by_price_and_refuses_bad_filters(client):
    kitchen = CategoryFactory.create(slug="kitchen")
    for name, price in (("Bowl", "9.00"), ("Cup", "2.00"), ("Jug", "5.00")):
        ProductFactory.create(category=kitchen, name=name, price=price)
    url = reverse("catalog:category_detail", args=["kitchen"])
    page = client.get(url, {"min_price": "3", "max_price": "9"}).content.decode()
    assert _names_in_grid(page) == ["Bowl", "Jug"]
    bad = client.get(url, {"min_price": "9", "max_price": "3", "sort": "cheapest"})
    assert bad.status_code == 400
    assert "Must not be below the lowest price." in bad.content.decode()
    assert "Select a valid choice." in bad.content.decode()


def test_errors_show_the_shop_s_pages_never_a_trace(monkeypatch):
    from django.test import Client

    from catalog import selectors

    def broken(**kwargs):
        raise RuntimeError("secret internals: SELECT password FROM users")

    monkeypatch.setattr(selectors, "product_newest", broken)
    client = Client(raise_request_exception=False)
    failed = client.get(reverse("catalog:home"))
    assert failed.status_code == 500
    assert "Something went wrong on our side" in failed.content.decode()
    assert "secret internals" not in failed.content.decode()
    assert "Traceback" not in failed.content.decode()
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert "/static/css/shop.css" in missing.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/cart/add/{pk}/",
        "/cart/{pk}/",
        "/cart/add-together/{pk}/",
        "/p/{pk}/review/",
        "/checkout/",
        "/account/signup/",
        "/account/login/",
        "/account/logout/",
    ],
)
def test_every_form_needs_its_csrf_token(url):
    from django.test import Client

    from tracking.tests.factories import UserFactory

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory.create())
    product = ProductFactory.create(stock=5)
    response = client.post(url.format(pk=product.pk), {"quantity": "1", "rating": "5"})
    assert response.status_code == 403


def test_a_returning_buyer_sees_buy_it_again_on_the_home_page(
    client, django_capture_on_commit_callbacks
):
    from tracking.models import EventType, Visitor
    from tracking.tests.factories import EventFactory

    bag = ProductFactory.create(name="Jumbo Bag")
    assert "Buy it again" not in client.get(reverse("catalog:home")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.get(bag.get_absolute_url())  # the visit records the visitor (and resets its lists)
    shopper = Visitor.objects.get(external_id=client.cookies[settings.VISITOR_COOKIE_NAME].value)
    EventFactory.create(visitor=shopper, product=bag, event_type=EventType.PURCHASE)
    page = client.get(reverse("catalog:home")).content.decode()
    shelf = page[page.index("Buy it again") :]
    assert "Jumbo Bag" in shelf[: shelf.index("</section>")]


def test_search_results_are_cached_until_the_catalog_changes(client, django_assert_max_num_queries):
    teapot = ProductFactory.create(name="Blue Teapot", price="20.00")
    ProductFactory.create(name="Rake", price="10.00")
    assert "£20.00" in client.get(reverse("catalog:search"), {"q": "teapot"}).content.decode()
    with django_assert_max_num_queries(3):  # the session and visitor, never the search
        client.get(reverse("catalog:search"), {"q": "teapot"})
    teapot.price = "25.00"
    teapot.save()
    page = client.get(reverse("catalog:search"), {"q": "teapot"}).content.decode()
    assert "£25.00" in page
    ReviewFactory.create(product=teapot, rating=4)
    product_ratings_refresh(product_ids=[teapot.pk])
    page = client.get(reverse("catalog:search"), {"q": "teapot"}).content.decode()
    assert "(1)" in page  # the rating shown on the card
    bad = client.get(reverse("catalog:search"), {"q": "teapot", "min_price": "x"})
    assert bad.status_code == 400
