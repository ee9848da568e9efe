"""Impressions: every recommendation list shown is recorded once, buffered so pages do not
wait, and what its clicks led to is attributed to it."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.tests.factories import CategoryFactory, ProductFactory
from infrastructure.buffer import _connection, _key, buffer_length
from recommender.tests.factories import TrendingScoreFactory
from tracking.attribution import impression_outcomes, shelf_figures
from tracking.impressions import BUFFER, Shown, impression_record, impressions_flush
from tracking.models import RECOMMENDATION_ID, Event, EventType, Impression
from tracking.tests.factories import EventFactory, VisitorFactory

pytestmark = pytest.mark.django_db


def recorded() -> list[Impression]:
    """What the database holds once the buffer (if there is one) is written."""
    impressions_flush()
    return list(Impression.objects.order_by("shown_at", "id"))


@pytest.fixture
def trending_shop():
    kitchen = CategoryFactory.create(name="Kitchen")
    products = [ProductFactory.create(category=kitchen, stock=5) for _ in range(4)]
    for score, product in enumerate(products, start=1):
        TrendingScoreFactory.create(product=product, score=float(score))
    return products


def test_an_impression_is_written_once_however_often_it_is_flushed():
    shown = Shown(surface="home_trending", products=[3, 1, 2], visitor="ann")
    impression_record(shown)
    impression_record(shown)  # a retried request records the same impression id
    [row] = recorded()
    assert row.visitor is not None
    assert (row.surface, row.products, row.visitor.external_id) == (
        "home_trending",
        [3, 1, 2],
        "ann",
    )
    assert recorded() == [row]


@pytest.mark.redis
def test_with_redis_pages_do_not_wait_and_a_dead_drain_loses_nothing():
    first = impression_record(Shown(surface="api_trending", products=[1], visitor=None))
    assert not Impression.objects.exists()  # buffered, not written by the request
    assert buffer_length(BUFFER) == 1
    # A drain takes the pending list and dies before writing it ...
    connection = _connection()
    connection.rename(_key(BUFFER, "pending"), _key(BUFFER, "draining"))
    second = impression_record(Shown(surface="api_trending", products=[2], visitor=None))
    # ... the next drain writes both the abandoned batch and the new one.
    assert impressions_flush() == 2
    assert {r.impression_id for r in Impression.objects.all()} == {first, second}
    assert buffer_length(BUFFER) == 0
    assert impressions_flush() == 0


def test_api_answers_carry_their_impression_id(trending_shop):
    api = APIClient()
    api.cookies["visitor_id"] = "ann"
    answer = api.get("/api/trending", {"k": 3}).json()
    [row] = recorded()
    assert answer["recommendation_id"] == row.impression_id
    assert row.products == [item["product"]["id"] for item in answer["items"]]
    assert (row.surface, row.strategy) == ("api_trending", "api_trending")
    similar = api.get(f"/api/products/{trending_shop[0].pk}/similar").json()
    assert len(recorded()) == 1 + bool(similar["items"])


def test_an_empty_list_is_no_impression():
    answer = APIClient().get("/api/trending").json()
    assert answer == answer | {"items": [], "recommendation_id": None}
    assert recorded() == []


def test_a_shelf_click_carries_its_impression_to_the_view(trending_shop, settings):
    browser = Client()
    home = browser.get("/").content.decode()
    [row] = [r for r in recorded() if r.surface == "home_trending"]
    link = re.search(r'href="([^"]+rid=' + row.impression_id + ')"', home)
    assert link is not None
    browser.get(link.group(1).replace("&amp;", "&"))
    view = Event.objects.get(event_type=EventType.VIEW)
    assert view.metadata[RECOMMENDATION_ID] == row.impression_id
    assert view.visitor_id == row.visitor_id


def test_add_to_carts_and_orders_after_a_click_are_attributed_to_the_last_click():
    now = timezone.now()
    ann, bob = VisitorFactory.create(), VisitorFactory.create()
    mug = ProductFactory.create(price=Decimal("8.00"))
    early = Impression.objects.create(
        impression_id="a" * 32, shown_at=now - timedelta(hours=3), visitor=ann,
        surface="home_for_you", products=[mug.pk],
    )  # fmt: skip
    late = Impression.objects.create(
        impression_id="b" * 32, shown_at=now - timedelta(hours=2), visitor=ann,
        surface="product_similar", products=[mug.pk],
    )  # fmt: skip
    for impression, hours in ((early, 3), (late, 2)):
        EventFactory.create(
            visitor=ann, product=mug, occurred_at=now - timedelta(hours=hours),
            metadata={RECOMMENDATION_ID: impression.impression_id},
        )  # fmt: skip
    EventFactory.create(visitor=ann, product=mug, event_type=EventType.ADD_TO_CART,
                        occurred_at=now - timedelta(hours=1))  # fmt: skip
    EventFactory.create(
        visitor=ann, product=mug, event_type=EventType.PURCHASE, occurred_at=now,
        revenue=Decimal("16.00"), quantity=2, order_ref="K1",
    )  # fmt: skip
    # Another visitor's purchase, and one the day after, are nobody's click's doing.
    EventFactory.create(visitor=bob, product=mug, event_type=EventType.PURCHASE, occurred_at=now)
    EventFactory.create(visitor=ann, product=mug, event_type=EventType.PURCHASE,
                        occurred_at=now + timedelta(hours=23), order_ref="K2")  # fmt: skip
    outcomes = impression_outcomes(start=now - timedelta(days=1), end=now).set_index(
        "impression_id"
    )
    counted = ["clicks", "add_to_carts", "orders"]
    assert list(outcomes.loc["a" * 32, counted]) == [1, 0, 0]
    assert list(outcomes.loc["b" * 32, counted]) == [1, 1, 1]
    assert outcomes.loc["b" * 32, "revenue"] == 16.0
    shelves = {s.surface: s for s in shelf_figures(start=now - timedelta(days=1), end=now)}
    assert (shelves["product_similar"].ctr, shelves["product_similar"].conversion) == (1.0, 1.0)


def test_each_showing_of_a_cached_pages_shelf_is_its_own_impression(trending_shop):
    # A search that finds nothing shows the trending shelf; the page is cached for everyone.
    ids = []
    for _ in range(2):
        page = Client().get("/search/", {"q": "zzzz-nothing"}).content.decode()
        found = re.findall(r"rid=([0-9a-f]{32})", page)
        assert found
        assert len(set(found)) == 1
        ids.append(found[0])
    assert ids[0] != ids[1]
    rows = [r for r in recorded() if r.surface == "search_empty_trending"]
    assert sorted(r.impression_id for r in rows) == sorted(ids)
    assert {r.strategy for r in rows} == {"global_trending"}
