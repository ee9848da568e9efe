"""Merchandising rules on every shelf and endpoint, their schedules, conflicts, the API that
manages them, the admin's preview and the shop's defaults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from recommender import serving
from recommender.models import MerchandisingRule, Surface
from recommender.services import merchandising_rule_save, merchandising_settings_save
from recommender.tests.factories import BoughtTogetherFactory, TrendingScoreFactory
from recommender.tests.test_fresh_shelves import shelves
from tracking.models import EventType
from tracking.tests.factories import EventFactory, VisitorFactory, role_member

pytestmark = pytest.mark.django_db

# The shelves that are recommendation lists (the search and the listings are not steered).
STEERED = {
    "home: recommended for you",
    "home: trending now",
    "product: also viewed",
    "product: bought together",
    "category: trending in",
    "api: recommendations",
    "api: trending",
    "api: similar",
}


def rule(**fields: Any) -> MerchandisingRule:
    return merchandising_rule_save(changed_by=None, **fields)


@pytest.fixture
def rake(shop):
    """A garden product no shelf lists on its own."""
    return ProductFactory.create(name="Garden Rake", category=shop["garden"], stock=3)


@pytest.fixture
def merchandiser() -> APIClient:
    client = APIClient()
    user = role_member("Merchandiser", username="merch")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def names(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return [item["product"]["name"] for item in items]


def test_a_hidden_product_leaves_every_shelf_at_the_next_request(client, api, shop, committed):
    client.get(shop["mug"].get_absolute_url())
    before = shelves(client, api, shop)
    assert all("Brown Teapot" in before[name] for name in STEERED)
    with committed():
        rule(kind="hide", product=shop["teapot"])
    after = shelves(client, api, shop)
    assert {name for name in STEERED if "Brown Teapot" in after[name]} == set()
    # Search still finds it: a hidden product is kept off the shelves, not out of the shop.
    assert "Brown Teapot" in after["api: search"]


def test_a_hidden_product_is_not_offered_to_buy_again(api, shop, committed):
    ann = VisitorFactory.create(external_id="buyer")
    for product in (shop["teapot"], shop["mug"]):
        EventFactory.create(visitor=ann, product=product, event_type=EventType.PURCHASE)
    asked: dict[str, Any] = {"visitor": "buyer", "scenario": "buy_again"}
    assert "Brown Teapot" in names(api.get("/api/recommendations", asked).json()["items"])
    with committed():
        rule(kind="hide", category=shop["kitchen"], surfaces=["buy_again"])
    assert api.get("/api/recommendations", asked).json()["items"] == []


def test_a_pinned_product_is_featured_first_on_every_shelf(client, api, shop, rake, committed):
    client.get(shop["mug"].get_absolute_url())
    shelves(client, api, shop)
    with committed():
        rule(kind="pin", product=rake, position=1)
    after = shelves(client, api, shop)
    assert {name for name in STEERED if "Garden Rake" not in after[name]} == set()
    assert "Featured by the shop" in after["home: recommended for you"]
    for url in ("/api/recommendations?visitor=ann", "/api/trending"):
        first = api.get(url).json()["items"][0]
        assert first["product"]["name"] == "Garden Rake"
        assert first["reason"] == {"type": "featured"}
        assert first["explanation"] == "Featured by the shop"


def test_boost_and_bury_move_a_product_within_its_list(api, shop, committed):
    TrendingScoreFactory.create(
        product=ProductFactory.create(name="Milk Jug", category=shop["kitchen"]), score=0.5
    )
    order = names(api.get("/api/trending").json()["items"])
    assert order == ["Brown Teapot", "Tea Cup", "Blue Mug", "Milk Jug"]
    with committed():
        buried = rule(kind="bury", product=shop["teapot"], strength=-0.5)
    # First of four (relevance 1) - 0.5 ties the third (0.5): ties keep the ranked order.
    assert names(api.get("/api/trending").json()["items"]) == [
        "Tea Cup",
        "Brown Teapot",
        "Blue Mug",
        "Milk Jug",
    ]
    with committed():
        buried.delete()
        rule(kind="boost", price_min=Decimal("8"), price_max=Decimal("9"), strength=1.0)
    assert names(api.get("/api/trending").json()["items"])[0] == "Blue Mug"  # priced 8.50


def test_a_rule_holds_only_on_its_surfaces_and_its_page(api, shop, committed):
    mug = shop["mug"]
    with committed():
        rule(kind="hide", product=shop["teapot"], surfaces=["similar"], on_product=mug)
    assert "Brown Teapot" not in api.get(f"/api/products/{mug.pk}/similar").content.decode()
    assert "Brown Teapot" in api.get("/api/trending").content.decode()
    cup = MerchandisingRule.objects.get().product  # the rule's own product: another page
    assert cup is not None
    with committed():
        rule(kind="hide", product=mug, surfaces=["trending"], on_category=shop["garden"])
    assert "Blue Mug" in api.get("/api/trending?category=kitchen").content.decode()


def test_a_rule_does_nothing_before_its_start_or_after_its_end(api, shop, committed):
    start = datetime(2026, 12, 24, 9, tzinfo=UTC)
    with time_machine.travel(start - timedelta(hours=1), tick=False):
        with committed():
            rule(
                kind="hide",
                product=shop["teapot"],
                starts_at=start,
                ends_at=start + timedelta(hours=8),
            )
        # Cached before the start: the cached list expires when the rule starts.
        assert "Brown Teapot" in api.get("/api/trending").content.decode()
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert "Brown Teapot" not in api.get("/api/trending").content.decode()
    with time_machine.travel(start + timedelta(hours=9), tick=False):
        assert "Brown Teapot" in api.get("/api/trending").content.decode()


def test_conflicts_hide_beats_pin_and_the_newer_pin_wins(api, shop, rake, committed):
    with committed():
        rule(kind="pin", product=shop["mug"], position=1)
        rule(kind="pin", product=rake, position=1)  # newer: it holds position 1
        rule(kind="pin", product=shop["teapot"], position=2)
        rule(kind="hide", product=shop["teapot"])
    assert names(api.get("/api/trending").json()["items"]) == ["Garden Rake", "Tea Cup", "Blue Mug"]


def test_the_preview_shows_the_list_with_and_without_the_rules_and_the_conflicts(shop, rake):
    older = rule(kind="pin", product=shop["mug"], position=1)
    rule(kind="pin", product=rake, position=1)
    rule(kind="hide", product=shop["teapot"], note="Recalled")
    staff = Client()
    staff.force_login(role_member("Merchandiser", username="m", is_staff=True))
    page = staff.get(
        "/admin/recommender/merchandisingrule/preview/", {"surface": "trending", "k": "5"}
    )
    assert page.status_code == 200
    rows = page.context["rows"]
    without = [w["product"]["name"] for w, _ in rows if w]
    with_rules = [r["product"]["name"] for _, r in rows if r]
    assert without == ["Brown Teapot", "Tea Cup", "Blue Mug"]
    assert with_rules == ["Garden Rake", "Tea Cup", "Blue Mug"]
    assert f"a newer pin (#{older.pk + 1}) holds the same position" in page.content.decode()
    missing = staff.get("/admin/recommender/merchandisingrule/preview/", {"surface": "similar"})
    assert "choose it" in missing.content.decode()


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"kind": "boost", "product": "teapot", "strength": 2}, "strength"),
        ({"kind": "bury", "product": "teapot", "strength": 0.5}, "strength"),
        ({"kind": "pin", "product": "teapot", "position": 0}, "position"),
        ({"kind": "pin", "category": "kitchen", "position": 1}, "product"),
        ({"kind": "hide", "product": "teapot", "category": "kitchen"}, "product"),
        ({"kind": "hide", "price_min": "20", "price_max": "10"}, "price_max"),
        ({"kind": "hide", "product": "teapot", "surfaces": ["checkout"]}, "surfaces"),
        (
            {
                "kind": "hide",
                "product": "teapot",
                "starts_at": "2026-12-24T10:00:00Z",
                "ends_at": "2026-12-24T09:00:00Z",
            },
            "ends_at",
        ),
    ],
    ids=[
        "strength above 1",
        "bury upwards",
        "position below 1",
        "pin without product",
        "two targets",
        "price range reversed",
        "unknown surface",
        "end before start",
    ],
)
def test_a_bad_rule_gets_a_field_error_and_saves_nothing(merchandiser, shop, given, field):
    body = {
        key: shop[value].pk if key in ("product", "category") else value
        for key, value in given.items()
    }
    answer = merchandiser.post("/api/merchandising/rules", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert not MerchandisingRule.objects.exists()


def test_merchandisers_manage_rules_over_the_api(merchandiser, api, shop, rake):
    made = merchandiser.post(
        "/api/merchandising/rules",
        {"kind": "pin", "product": rake.pk, "position": 2, "note": "Spring"},
        format="json",
    )
    assert made.status_code == 201, made.content
    rule_id = made.json()["id"]
    assert made.json()["changed_by"] == "merch"
    assert names(api.get("/api/trending").json()["items"])[1] == "Garden Rake"
    changed = merchandiser.patch(
        f"/api/merchandising/rules/{rule_id}", {"position": 1}, format="json"
    )
    assert changed.status_code == 200
    assert names(api.get("/api/trending").json()["items"])[0] == "Garden Rake"
    assert [r["id"] for r in merchandiser.get("/api/merchandising/rules").json()] == [rule_id]
    # A partner's token acts for visitors but may not steer the shelves.
    assert api.get("/api/merchandising/rules").status_code == 403
    assert api.delete(f"/api/merchandising/rules/{rule_id}").status_code == 403
    assert merchandiser.delete(f"/api/merchandising/rules/{rule_id}").status_code == 204
    assert "Garden Rake" not in api.get("/api/trending").content.decode()


def test_the_admin_refuses_a_bad_rule_with_the_field_error(shop):
    staff = Client()
    staff.force_login(User.objects.create_superuser("boss", "boss@example.com", "x"))
    page = staff.post(
        "/admin/recommender/merchandisingrule/add/",
        {"kind": "boost", "product": shop["teapot"].pk, "strength": "1.5", "note": ""},
    )
    assert page.status_code == 200
    assert "strength" in page.context["adminform"].form.errors
    assert not MerchandisingRule.objects.exists()
    saved = staff.post(
        "/admin/recommender/merchandisingrule/add/",
        {"kind": "boost", "product": shop["teapot"].pk, "strength": "0.5", "note": ""},
    )
    assert saved.status_code == 302
    assert str(MerchandisingRule.objects.get().changed_by) == "boss"


def test_the_shops_default_cap_and_preferred_category_boost(api, shop, committed):
    garden = [
        ProductFactory.create(name=f"Spade {n}", category=shop["garden"], stock=3) for n in (1, 2)
    ]
    for product in garden:
        TrendingScoreFactory.create(product=product, score=0.1)
    cook = VisitorFactory.create(external_id="cook")
    EventFactory.create(visitor=cook, product=shop["mug"])  # brings the teapot and the cup
    for _ in range(3):  # but the garden is where this visitor spends their time
        EventFactory.create(visitor=cook, product=garden[0], event_type=EventType.ADD_TO_CART)
    asked: dict[str, Any] = {"visitor": "cook", "k": 4}
    plain = api.get("/api/recommendations", asked).json()["items"]
    assert names(plain)[:2] == ["Brown Teapot", "Tea Cup"]
    with committed():
        merchandising_settings_save(
            changed_by=None, preferred_category_boost=1.0, preferred_categories=1
        )
    boosted = api.get("/api/recommendations", asked).json()["items"]
    assert boosted[0]["product"]["category"]["name"] == "Garden"
    with committed():
        merchandising_settings_save(
            changed_by=None, preferred_category_boost=0.0, max_per_category=1
        )
    capped = api.get("/api/recommendations", asked).json()["items"]
    categories = [item["product"]["category"]["name"] for item in capped]
    assert len(categories) == len(set(categories)) == 2
    # A request's own cap still wins.
    assert len(api.get("/api/recommendations", asked | {"max_per_category": 3}).json()["items"]) > 2


def first_names(api: APIClient, shop: dict[str, Any]) -> dict[str, list[str]]:
    """Each surface's list, by surface (the pages call the same serving functions)."""
    mug = shop["mug"]
    return {
        "recommended": names(api.get("/api/recommendations?visitor=ann").json()["items"]),
        "buy_again": names(
            api.get("/api/recommendations?visitor=buyer&scenario=buy_again").json()["items"]
        ),
        "similar": names(api.get(f"/api/products/{mug.pk}/similar").json()["items"]),
        "bought_together": names(serving.bought_together(product=mug, k=10)["items"]),
        "trending": names(api.get("/api/trending").json()["items"]),
    }


@pytest.mark.parametrize("surface", [s.value for s in Surface])
@pytest.mark.parametrize("kind", ["hide", "bury", "pin", "boost"])
def test_each_kind_of_rule_on_each_surface_and_only_there(api, shop, committed, kind, surface):
    """On every surface the teapot comes first and the cup second; a rule scoped to one
    surface changes that surface's list as its kind says, and no other list."""
    teapot, cup = shop["teapot"], Product.objects.get(name="Tea Cup")
    BoughtTogetherFactory.create(product=shop["mug"], similar_product=cup, score=0.1)
    buyer = VisitorFactory.create(external_id="buyer")
    for product, times in ((teapot, 3), (cup, 1)):
        for _ in range(times):
            EventFactory.create(visitor=buyer, product=product, event_type=EventType.PURCHASE)
    before = first_names(api, shop)
    assert all(shown[:2] == ["Brown Teapot", "Tea Cup"] for shown in before.values()), before
    fields: dict[str, Any] = {
        "hide": {"product": teapot},
        "bury": {"product": teapot, "strength": -1.0},
        "pin": {"product": cup, "position": 1},
        "boost": {"product": cup, "strength": 1.0},
    }[kind]
    with committed():
        rule(kind=kind, surfaces=[surface], **fields)
    after = first_names(api, shop)
    assert {name for name, shown in after.items() if shown != before[name]} == {surface}
    changed = after[surface]
    if kind == "hide":
        assert "Brown Teapot" not in changed
    else:
        assert changed[0] == "Tea Cup"
        assert "Brown Teapot" in changed
