"""Live recommendations through the API: sessions and baskets change the list at once."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.tests.factories import CategoryFactory, ProductFactory
from recommender import pipelines
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.live_ranker import LiveRanker, query_features
from recommender.algorithms.sessions import CurrentSessions
from recommender.configuration import LIVE_RANKER_CONFIG
from recommender.models import LearnedRecommendation, LiveRankerSnapshot, SessionIndexSnapshot
from recommender.selectors import served_session_index, session_index_forget
from tracking.models import EventType
from tracking.tests.factories import EventFactory, VisitorFactory, api_client_user

pytestmark = pytest.mark.django_db

NO_CONTENT = Neighbours.concatenate([])
CAMPING = ("Tent", "Sleeping Bag", "Stove", "Lantern")
TEA = ("Teapot", "Green Tea", "Cups")


@pytest.fixture
def client() -> APIClient:
    client = APIClient()
    user = api_client_user()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def shop():
    """Yesterday's shoppers: camping kits bought together, tea sets bought together, and the
    garden's bestsellers. The session index knows them; no item-to-item table exists yet."""
    outdoors, kitchen = CategoryFactory.create(name="Outdoors"), CategoryFactory.create()
    products = {name: ProductFactory.create(name=name, category=outdoors) for name in CAMPING}
    products |= {name: ProductFactory.create(name=name, category=kitchen) for name in TEA}
    products["Rake"] = ProductFactory.create(name="Rake", category=CategoryFactory.create())
    yesterday = timezone.now() - timedelta(days=1)
    for n, kit in enumerate([CAMPING] * 3 + [TEA] * 3):
        shopper = VisitorFactory.create()
        for offset, name in enumerate(kit):
            moment = yesterday + timedelta(hours=n, minutes=offset)
            EventFactory.create(visitor=shopper, product=products[name], occurred_at=moment)
            EventFactory.create(visitor=shopper, product=products[name], occurred_at=moment,
                                event_type=EventType.PURCHASE)  # fmt: skip
    for _ in range(8):
        EventFactory.create(product=products["Rake"], event_type=EventType.PURCHASE,
                            occurred_at=yesterday)  # fmt: skip
    pipelines.trending_compute()
    pipelines.sessions_compute()
    return products


def send(client, capture, visitor: str, product, kind: str = "view") -> None:
    with capture(execute=True):
        body = {"visitor": visitor, "product": product.pk, "event_type": kind}
        assert client.post("/api/events", body, format="json").status_code == 201


def listed(client, visitor: str, **params) -> dict[str, Any]:
    answer: dict[str, Any] = client.get(
        "/api/recommendations", {"visitor": visitor, "k": 4, **params}
    ).json()
    return answer


def names(answer: dict[str, Any]) -> list[str]:
    return [item["product"]["name"] for item in answer["items"]]


def test_a_guests_first_two_views_bring_session_candidates(
    client, shop, django_capture_on_commit_callbacks
):
    assert names(listed(client, "guest"))[0] == "Rake"
    send(client, django_capture_on_commit_callbacks, "guest", shop["Tent"])
    send(client, django_capture_on_commit_callbacks, "guest", shop["Sleeping Bag"])
    answer = listed(client, "guest")
    assert answer["strategy"] == "personalised"
    assert set(names(answer)[:2]) == {"Stove", "Lantern"}
    first = answer["items"][0]
    assert first["reason"]["type"] == "just_viewed"
    assert set(first["reason"]["products"]) <= {shop["Tent"].pk, shop["Sleeping Bag"].pk}
    assert first["explanation"].startswith("Because you just viewed ")


def test_a_returning_buyers_list_changes_after_cart_adds(
    client, shop, django_capture_on_commit_callbacks
):
    buyer = VisitorFactory.create(external_id="regular")
    long_ago = timezone.now() - timedelta(days=60)
    EventFactory.create(visitor=buyer, product=shop["Rake"], occurred_at=long_ago,
                        event_type=EventType.PURCHASE)  # fmt: skip
    for rank, name in enumerate(("Teapot", "Green Tea")):
        LearnedRecommendation.objects.create(
            visitor=buyer, product=shop[name], score=0.5 - rank / 10, computed_at=long_ago
        )
    before = listed(client, "regular")
    assert names(before)[:2] == ["Teapot", "Green Tea"]
    send(client, django_capture_on_commit_callbacks, "regular", shop["Tent"], "add_to_cart")
    after = listed(client, "regular")
    assert names(after) != names(before)
    assert {"Sleeping Bag", "Stove", "Lantern"} <= set(names(after))
    goes_with = next(i for i in after["items"] if i["product"]["name"] == "Sleeping Bag")
    assert goes_with["reason"] == {"type": "goes_with_basket", "products": [shop["Tent"].pk]}
    assert goes_with["explanation"] == "Goes with Tent in your basket"


def test_what_is_in_the_basket_is_never_suggested(client, shop, django_capture_on_commit_callbacks):
    send(client, django_capture_on_commit_callbacks, "ann", shop["Tent"], "add_to_cart")
    send(client, django_capture_on_commit_callbacks, "ann", shop["Stove"], "view")
    for include in ("false", "true"):
        shown = names(listed(client, "ann", include_interacted=include, k=8))
        assert "Tent" not in shown
    # A product only viewed may come back when interacted products are asked for.
    assert "Stove" in names(listed(client, "ann", include_interacted="true", k=8))


def test_a_category_filters_the_session_candidates_too(
    client, shop, django_capture_on_commit_callbacks
):
    send(client, django_capture_on_commit_callbacks, "ann", shop["Tent"])
    send(client, django_capture_on_commit_callbacks, "ann", shop["Teapot"])
    kitchen = shop["Teapot"].category
    answer = listed(client, "ann", category=kitchen.pk)
    assert {"Green Tea", "Cups"} <= set(names(answer))
    assert not set(names(answer)) & set(CAMPING)  # the tent's companions are not kitchen


def test_the_session_index_pipeline_twice_gives_the_same_index(shop):
    first = pipelines.sessions_compute()
    second = pipelines.sessions_compute()
    assert first.statistics["sessions"] == second.statistics["sessions"] == 6
    snapshots = list(SessionIndexSnapshot.objects.order_by("-id"))
    assert len(snapshots) == 2  # the newest serves; the one before is kept
    assert bytes(snapshots[0].data) == bytes(snapshots[1].data)


def test_an_order_placed_now_is_in_other_visitors_lists_after_the_next_run(
    client, shop, django_capture_on_commit_callbacks
):
    lantern, cups = shop["Lantern"], shop["Cups"]
    # A new pairing nobody made before: a lantern with cups, bought a minute ago.
    buyer = VisitorFactory.create()
    for product in (lantern, cups):
        EventFactory.create(visitor=buyer, product=product, event_type=EventType.PURCHASE,
                            occurred_at=timezone.now() - timedelta(minutes=1))  # fmt: skip
    pipelines.sessions_compute()
    session_index_forget()  # a worker rechecks every 30 seconds; the test does not wait
    send(client, django_capture_on_commit_callbacks, "bea", cups)
    assert "Lantern" in names(listed(client, "bea"))


@pytest.fixture
def kit_store(monkeypatch):
    """Fifty days of orders: four of a kit's five products and a bestseller each, so the
    nightly live ranking has orders to learn from (fewer than a real store's minimum: the
    test lowers it)."""
    monkeypatch.setattr(
        "recommender.pipelines.live_ranking.LIVE_RANKER_CONFIG",
        replace(LIVE_RANKER_CONFIG, min_orders=50),
    )
    kits = {
        name: [ProductFactory.create(name=f"{name} {n}", category=CategoryFactory.create())
               for n in range(1, 6)]
        for name in ("Camping", "Tea", "Garden")
    }  # fmt: skip
    bestseller = ProductFactory.create(name="Gift Card")
    start = timezone.now() - timedelta(days=50)
    for n in range(90):
        kit = kits[("Camping", "Tea", "Garden")[n % 3]]
        shopper, moment = VisitorFactory.create(), start + timedelta(hours=13 * n)
        for product in [*(kit[:4] if n % 2 else kit[1:]), bestseller]:
            EventFactory.create(visitor=shopper, product=product, occurred_at=moment,
                                event_type=EventType.PURCHASE)  # fmt: skip
    pipelines.trending_compute()
    pipelines.sessions_compute()
    return kits


def test_a_guests_views_are_ranked_by_the_learnt_live_ranking(
    client, kit_store, django_capture_on_commit_callbacks
):
    run = pipelines.live_ranking_compute()
    assert run.statistics["learnt"]
    assert run.statistics["training_orders"] == 90
    session_index_forget()
    tea = kit_store["Tea"]
    send(client, django_capture_on_commit_callbacks, "guest", tea[0])
    send(client, django_capture_on_commit_callbacks, "guest", tea[1])
    answer = listed(client, "guest", k=4)
    # What the tea orders held besides the two viewed: nothing of the other kits.
    assert set(names(answer)) == {"Tea 3", "Tea 4", "Tea 5", "Gift Card"}
    assert answer["items"][0]["reason"]["type"] == "just_viewed"
    assert set(answer["items"][0]["reason"]["products"]) <= {tea[0].pk, tea[1].pk}


def test_a_returning_buyers_basket_moves_their_list_under_the_learnt_ranking(
    client, kit_store, django_capture_on_commit_callbacks
):
    assert pipelines.live_ranking_compute().statistics["learnt"]
    session_index_forget()
    garden, camping = kit_store["Garden"], kit_store["Camping"]
    buyer = VisitorFactory.create(external_id="regular")
    long_ago = timezone.now() - timedelta(days=60)
    EventFactory.create(visitor=buyer, product=camping[0], occurred_at=long_ago,
                        event_type=EventType.PURCHASE)  # fmt: skip
    for rank, product in enumerate(camping[1:3]):
        LearnedRecommendation.objects.create(
            visitor=buyer, product=product, score=0.5 - rank / 10, computed_at=long_ago
        )
    before = names(listed(client, "regular", k=4))
    assert before[:2] == ["Camping 2", "Camping 3"]
    send(client, django_capture_on_commit_callbacks, "regular", garden[0], "add_to_cart")
    send(client, django_capture_on_commit_callbacks, "regular", garden[1], "add_to_cart")
    after = listed(client, "regular", k=6)
    # The basket's companions join the learned list; the basket itself is never suggested.
    assert {"Garden 3", "Garden 4"} <= set(names(after))
    assert not {"Garden 1", "Garden 2"} & set(names(after))
    goes_with = next(item for item in after["items"] if item["product"]["name"] == "Garden 3")
    assert goes_with["reason"]["type"] == "goes_with_basket"
    assert set(goes_with["reason"]["products"]) <= {garden[0].pk, garden[1].pk}


def test_a_returning_buyers_repeats_are_ranked_with_their_basket_under_the_learnt_ranking(
    client, kit_store, django_capture_on_commit_callbacks
):
    """With interacted products allowed, what they bought before is a candidate of the same
    ranking as the basket's companions; the default list's personal items leave it out."""
    assert pipelines.live_ranking_compute().statistics["learnt"]
    session_index_forget()
    tea, camping = kit_store["Tea"], kit_store["Camping"]
    buyer = VisitorFactory.create(external_id="regular")
    EventFactory.create(visitor=buyer, product=camping[0], event_type=EventType.PURCHASE,
                        occurred_at=timezone.now() - timedelta(days=60))  # fmt: skip
    send(client, django_capture_on_commit_callbacks, "regular", tea[0], "add_to_cart")
    again = listed(client, "regular", k=20, include_interacted="true")
    bought = next(item for item in again["items"] if item["product"]["name"] == "Camping 1")
    assert bought["reason"]["type"] == "bought_before"
    assert {"Tea 2", "Tea 3"} <= set(names(again))
    # The default list's personal items leave it out (a trending fill may still show it).
    default = listed(client, "regular", k=20)["items"]
    personal = {"goes_with_basket", "just_viewed", "similar_to", "bought_before", "picked_for_you"}
    assert "Camping 1" not in [
        i["product"]["name"] for i in default if i["reason"]["type"] in personal
    ]


def test_the_live_ranking_pipeline_twice_gives_the_same_ranking(kit_store):
    first, second = pipelines.live_ranking_compute(), pipelines.live_ranking_compute()
    assert first.statistics["training_rows"] == second.statistics["training_rows"] > 0
    newest, previous = LiveRankerSnapshot.objects.order_by("-id")[:2]
    assert LiveRankerSnapshot.objects.count() == 2  # the newest serves; the one before is kept
    index = served_session_index()
    tea = kit_store["Tea"]
    asked = CurrentSessions(
        query=np.zeros(2, dtype=np.int64),
        product=np.array([tea[0].pk, tea[1].pk]),
        at=np.array([time.time()]),
    )
    scores = []
    for snapshot in (newest, previous):
        ranker = LiveRanker.from_bytes(bytes(snapshot.data))
        features = query_features(index, asked, NO_CONTENT, session=ranker.session)
        scores.append(ranker.score(features))
    np.testing.assert_array_equal(scores[0], scores[1])


def test_without_enough_orders_to_learn_from_the_blend_keeps_serving(kit_store, monkeypatch):
    monkeypatch.setattr(
        "recommender.pipelines.live_ranking.LIVE_RANKER_CONFIG",
        replace(LIVE_RANKER_CONFIG, min_orders=91),  # the store has 90
    )
    run = pipelines.live_ranking_compute()
    assert run.statistics["learnt"] is False
    assert not LiveRankerSnapshot.objects.exists()
