from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.tests.factories import ProductFactory
from infrastructure.api.access import ScopedWindowRateThrottle
from shopsmart.tests.concurrency import at_once
from tracking.models import Event, Visitor
from tracking.tests.factories import api_client_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    user = api_client_user()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def product():
    return ProductFactory.create(external_id="85123A")


def post(client, body):
    return client.post("/api/events", body, format="json")


def test_one_event_creates_the_visitor_and_is_stored_once_per_event_id(api, product):
    event = {"event_id": "e-1", "visitor": "17850", "product": "85123A", "event_type": "view"}
    first = post(api, event)
    assert first.status_code == 201
    assert first.json()["status"] == "created"
    assert first.json()["product"] == product.pk
    replay = post(api, event)
    assert replay.status_code == 200
    assert replay.json()["status"] == "replayed"
    assert Event.objects.count() == 1
    assert Visitor.objects.get().external_id == "17850"


def test_a_batch_is_stored_whole(api, product):
    batch = [
        {"visitor": "v1", "product": product.pk, "event_type": "view"},
        {"visitor": "v1", "product": product.pk, "event_type": "purchase",
         "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
         "session_id": "s1", "metadata": {"quantity": 2}},
    ]  # fmt: skip
    response = post(api, batch)
    assert response.status_code == 201
    assert (response.json()["created"], response.json()["replayed"]) == (2, 0)
    stored = Event.objects.get(event_type="purchase")
    assert (stored.session_id, stored.metadata) == ("s1", {"quantity": 2})


def test_a_new_events_answer_is_what_its_replay_reads_back(api, product):
    """A new batch is answered from what was inserted, a replay from the database: alike."""
    event = {"event_id": "e-7", "visitor": "v7", "product": "85123A", "event_type": "purchase",
             "occurred_at": "2026-12-01T10:30:00.123456+02:00", "session_id": "s7",
             "metadata": {"quantity": 2, "note": ["a", 1.5]}}  # fmt: skip
    created, replayed = post(api, event).json(), post(api, event).json()
    assert (created.pop("status"), replayed.pop("status")) == ("created", "replayed")
    assert created == replayed


def test_a_batch_with_a_replay_stores_only_the_new_events_once(api, product):
    post(api, {"event_id": "old", "visitor": "v1", "product": product.pk, "event_type": "view"})
    batch = [
        {"event_id": "new-1", "visitor": "v1", "product": product.pk, "event_type": "view"},
        {"event_id": "old", "visitor": "v1", "product": product.pk, "event_type": "view"},
        {"event_id": "new-2", "visitor": "v2", "product": product.pk, "event_type": "add_to_cart"},
    ]
    response = post(api, batch)
    assert response.status_code == 201
    assert (response.json()["created"], response.json()["replayed"]) == (2, 1)
    assert [e["status"] for e in response.json()["events"]] == ["created", "replayed", "created"]
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["new-1", "new-2", "old"]


def test_one_bad_item_rejects_the_whole_batch_with_each_items_messages(api, product):
    batch = [
        {"visitor": "v1", "product": product.pk, "event_type": "view"},
        {"visitor": "v1", "product": "NO-SUCH", "event_type": "view"},
        {"visitor": "v1", "product": product.pk, "event_type": "like"},
        {"visitor": "v1", "product": product.pk, "event_type": "view",
         "occurred_at": (timezone.now() + timedelta(days=1)).isoformat()},
    ]  # fmt: skip
    response = post(api, batch)
    assert response.status_code == 400
    body = response.json()
    assert [item["index"] for item in body["items"]] == [1, 2, 3]
    assert "product" in body["items"][0]["errors"]
    assert "event_type" in body["items"][1]["errors"]
    assert "occurred_at" in body["items"][2]["errors"]
    assert not Event.objects.exists()
    assert not Visitor.objects.exists()


@pytest.mark.parametrize(
    "body",
    [[], {"visitor": "v1"}, "view", [{"product": 1}] * 501, {"visitor": "v1", "product": True,
     "event_type": "view"}],
)  # fmt: skip
def test_malformed_bodies_are_400(api, product, body):
    assert post(api, body).status_code == 400
    assert not Event.objects.exists()


def test_an_event_id_repeated_in_a_batch_or_of_another_visitor_is_rejected(api, product):
    event = {"event_id": "same", "visitor": "v1", "product": product.pk, "event_type": "view"}
    assert post(api, [event, event]).status_code == 400
    assert post(api, event).status_code == 201
    response = post(api, event | {"visitor": "v2"})
    assert response.status_code == 400
    assert "event_id" in response.json()
    assert Event.objects.count() == 1


def test_credentials_a_token_or_the_browsers_own_visitor(product):
    browser = APIClient(enforce_csrf_checks=True)
    event = {"product": product.pk, "event_type": "view"}
    assert post(browser, event).status_code == 401
    browser.cookies[settings.VISITOR_COOKIE_NAME] = "mine"
    assert post(browser, event).status_code == 403  # no CSRF token
    browser.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32
    browser.credentials(HTTP_X_CSRFTOKEN="a" * 32)
    assert post(browser, event | {"visitor": "someone-else"}).status_code == 403
    assert post(browser, event).status_code == 201
    assert Event.objects.get().visitor.external_id == "mine"


def test_a_token_needs_the_visitor(api, product):
    response = post(api, {"product": product.pk, "event_type": "view"})
    assert response.status_code == 400
    assert "visitor" in response.json()


@pytest.fixture(params=["configured cache", "local memory"])
def throttle_cache(request, settings):
    """The cache the throttle counts in: the suite's (Redis when REDIS_URL is set, counted by
    two plain commands), or Django's local memory (the zero-configuration store)."""
    if request.param == "local memory":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return request.param


def test_event_ingestion_is_throttled_per_client_with_retry_after(
    api, product, monkeypatch, throttle_cache
):
    monkeypatch.setattr(ScopedWindowRateThrottle, "THROTTLE_RATES", {"events": "2/minute"})
    event = {"visitor": "v1", "product": product.pk, "event_type": "view"}
    # The limit counts per clock minute: hold the clock mid-minute, so one window holds all.
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 15, tzinfo=UTC), tick=False):
        assert [post(api, event).status_code for _ in range(2)] == [201, 201]
        limited = post(api, event)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) == 45
        # Another client has its own count.
        other = APIClient()
        token = Token.objects.create(user=api_client_user("other"))
        other.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        assert post(other, event).status_code == 201
    with time_machine.travel(datetime(2026, 3, 1, 12, 1, 1, tzinfo=UTC), tick=False):
        assert post(api, event).status_code == 201  # the next minute


@pytest.mark.postgres  # SQLite's insert reads the stored ids first
@pytest.mark.django_db(transaction=True)
def test_one_event_is_stored_by_its_own_insert_and_a_batch_in_one_transaction(
    api, product, django_assert_num_queries
):
    """One event has nothing to undo if it is refused: a transaction would only add BEGIN
    and COMMIT to its request. A batch has (a replay of another visitor's event refuses it).
    A known visitor's new event is one statement: it reads the visitor, checks the product
    and inserts."""
    Visitor.objects.create(external_id="v1")
    event = {"visitor": "v1", "product": product.pk, "event_type": "view"}
    post(api, event)  # the visitor seen now: later events do not touch last_seen_at
    with django_assert_num_queries(1) as one:
        assert post(api, event).status_code == 201
    with django_assert_num_queries(5) as batch:
        assert post(api, [event, event]).status_code == 201
    statements = [query["sql"].split()[0] for query in batch.captured_queries]
    assert statements == ["SELECT", "BEGIN", "SELECT", "INSERT", "COMMIT"]
    assert "BEGIN" not in [query["sql"] for query in one.captured_queries]
    assert Event.objects.count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_batch_posted_concurrently_is_stored_once(product):
    """A client retrying a batch before its first attempt answered: four copies at once."""
    user = api_client_user("retrying-partner")
    token = Token.objects.create(user=user).key
    batch = [
        {"event_id": f"retry-{n}", "visitor": "new-shopper", "product": product.pk,
         "event_type": "view"}
        for n in range(25)
    ]  # fmt: skip

    def send(_number: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        status: int = post(client, batch).status_code
        return status

    statuses = at_once(send, 4)

    assert len(statuses) == 4
    assert set(statuses) <= {200, 201}
    assert Event.objects.count() == 25
    assert Visitor.objects.filter(external_id="new-shopper").count() == 1


@pytest.mark.parametrize(
    "reference", ["MUG\x00-1", 2**63, -(2**63) - 1, 10**30], ids=["nul", "int8+1", "int8-1", "1e30"]
)
def test_a_product_reference_the_database_cannot_hold_is_a_400(api, reference):
    response = post(api, [{"visitor": "v1", "product": reference, "event_type": "view"}])
    assert response.status_code == 400
    assert "product" in response.json()["items"][0]["errors"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"quantity": "two"}, "quantity must be a whole number"),
        ({"quantity": 0}, "quantity must be a whole number"),
        ({"revenue": "-3"}, "revenue must be an amount of at least 0"),
        ({"unit_price": "cheap"}, "unit_price must be an amount"),
    ],
)
def test_a_purchase_that_cannot_be_a_sale_is_400_and_stores_nothing(
    api, product, metadata, message
):
    event = {"visitor": "v", "product": product.pk, "event_type": "purchase"}
    answer = post(api, event | {"metadata": metadata})
    assert answer.status_code == 400
    assert message in answer.json()["metadata"][0]
    assert not Event.objects.exists()


def test_a_purchase_records_what_it_sold(api, product):
    """Quantity and unit price from the event, else the product's price; the order it
    names groups its lines."""
    post(api, [
        {"visitor": "v", "product": product.pk, "event_type": "purchase", "event_id": "a",
         "metadata": {"quantity": 3, "unit_price": "2.50", "order": "APP-7"}},
        {"visitor": "v", "product": product.pk, "event_type": "purchase", "event_id": "b"},
        {"visitor": "v", "product": product.pk, "event_type": "view", "event_id": "c",
         "metadata": {"quantity": "anything"}},
    ])  # fmt: skip
    sold = {e.event_id: (e.quantity, e.revenue, e.order_ref) for e in Event.objects.all()}
    assert sold == {
        "a": (3, Decimal("7.50"), "APP-7"),
        "b": (1, product.price, ""),
        "c": (1, None, ""),
    }


@pytest.mark.parametrize("batch", [False, True], ids=["one event", "batch"])
def test_a_product_id_that_does_not_exist_is_a_400_naming_it(api, product, batch):
    """Ids are checked as the events are stored, not read first: the answer is the same."""
    missing = {"visitor": "v1", "product": product.pk + 1, "event_type": "view"}
    fine = {"visitor": "v1", "product": product.pk, "event_type": "view"}
    response = post(api, [fine, missing] if batch else missing)
    assert response.status_code == 400
    if batch:
        assert response.json()["items"] == [
            {"index": 1, "errors": {"product": ["No such product."]}}
        ]
    else:
        assert response.json() == {"product": ["No such product."]}
    assert not Event.objects.exists()
