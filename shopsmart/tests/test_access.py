"""Every URL the project serves, walked as an anonymous visitor and as a signed-in shopper.

Each URL pattern must be classified below: a new view that nobody classified fails the walk,
so access is decided on purpose, never by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from catalog.services import CheckoutDetails, order_place
from catalog.tests.factories import CategoryFactory, ProductFactory
from catalog.tests.test_checkout import DETAILS
from tracking.tests.factories import visitor_pk

pytestmark = pytest.mark.django_db

# Anyone may open these: the shop, its account pages and the public API.
PUBLIC = {
    "catalog:home",
    "catalog:search",
    "catalog:category_detail",
    "catalog:product_detail",
    "catalog:placeholder_image",
    "catalog:cart",
    "catalog:cart_add",
    "catalog:cart_add_together",
    "catalog:cart_update",
    "catalog:checkout",
    "signup",
    "login",
    "logout",
    "api:product_list",
    "api:product_detail",
    "api:product_similar",
    "api:category_tree",
    "api:trending",
    "api:health",
    "api:ping",
    "api:schema",
    "api:docs",
    "favicon",
    # The admin's own sign-in and sign-out pages.
    "admin:login",
    "admin:logout",
}
# A shopper's own data: credentials (a token, the visitor cookie or a session) and only their own.
OWN = {
    "account",
    "catalog:review_add",
    "catalog:order_detail",
    "api:recommendations",
    "api:events",
}
# Staff only (the admin, the operators' dashboard, cache flushes, metrics in production).
STAFF_NAMESPACES = {"admin", "dashboard"}
STAFF = {"api:cache_flush", "metrics"}

DENIED = {401, 403, 405}


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    keys: tuple[str, ...]


def routes(patterns: list[Any] | None = None, namespace: str = "") -> Iterator[Route]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace or ""
            yield from routes(entry.url_patterns, inner if entry.namespace else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name, str(entry.pattern), tuple(entry.pattern.regex.groupindex))


def is_staff_only(name: str) -> bool:
    return name not in PUBLIC and (name.split(":")[0] in STAFF_NAMESPACES or name in STAFF)


@pytest.fixture
def world() -> dict[str, Any]:
    """A product, and an order placed by someone else (its owner's account)."""
    category = CategoryFactory.create()
    product = ProductFactory.create(category=category, stock=5)
    owner = User.objects.create_user("owner", password="a long enough passphrase")
    placed = order_place(
        checkout_token="owner-checkout",
        quantities={product.pk: 1},
        details=CheckoutDetails(**DETAILS),
        visitor_id=visitor_pk("owner-visitor"),
        user=owner,
    )
    return {"category": category, "product": product, "order": placed.order}


def sample_urls(route: Route, world: dict[str, Any]) -> list[str]:
    """The route's URL for the world's objects (several tries for the admin's generic ones)."""
    product, order = world["product"], world["order"]
    values: dict[str, list[str]] = {
        "pk": [str(product.pk)],
        "slug": [product.slug, world["category"].slug],
        "number": [order.number],
        "kind": ["trending"],
        "theme": ["kitchen"],
        "key": ["mug"],
        "object_id": [str(product.pk)],
        "content_type_id": ["1"],
        "app_label": ["catalog", "auth", "tracking", "recommender"],
        "url": ["x"],
    }
    tries: list[dict[str, str]] = [{}]
    for key in route.keys:
        tries = [{**t, key: value} for t in tries for value in values.get(key, ["1"])]
    urls = []
    for kwargs in tries:
        try:
            urls.append(reverse(route.name, kwargs=kwargs))
        except NoReverseMatch:
            continue
    return urls


def all_routes() -> list[Route]:
    return sorted(set(routes()), key=lambda route: route.name)


def test_every_url_pattern_is_classified():
    unclassified = [
        route.name
        for route in all_routes()
        if route.name not in PUBLIC | OWN and not is_staff_only(route.name)
    ]
    assert unclassified == []


def is_denied(response: Any) -> bool:
    if response.status_code == 302:
        return "login" in response["Location"]
    return response.status_code in DENIED


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "shopper"])
def test_staff_urls_turn_away_anonymous_visitors_and_shoppers(world, settings, signed_in):
    settings.METRICS_PUBLIC = False
    client = Client()
    if signed_in:
        client.force_login(User.objects.create_user("shopper"))
    walked = 0
    for route in all_routes():
        if not is_staff_only(route.name):
            continue
        for url in sample_urls(route, world):
            answers = [client.get(url), client.post(url)]
            assert all(is_denied(a) for a in answers), (url, [a.status_code for a in answers])
            # A view that allows neither method is no proof: one must have been refused.
            assert any(a.status_code != 405 for a in answers), url
            walked += 1
    assert walked > 50  # the admin's pages are walked too


def test_public_urls_answer_anonymous_visitors(world):
    client = Client()
    for route in all_routes():
        if route.name not in PUBLIC:
            continue
        for url in sample_urls(route, world):
            response = client.get(url)
            assert response.status_code < 500, url
            assert response.status_code not in (401, 403), url


def test_a_shoppers_own_data_needs_credentials(world, settings):
    client = Client()
    product = world["product"]
    assert client.get(reverse("account"))["Location"].startswith(reverse("login"))
    assert is_denied(client.post(reverse("catalog:review_add", args=[product.pk])))
    # A browser without a token acts for the visitor of its own cookie, set on its first
    # request: recommendations are that new visitor's, never anyone else's.
    answer = client.get(reverse("api:recommendations"))
    assert answer.json()["visitor"] == client.cookies[settings.VISITOR_COOKIE_NAME].value


def test_another_shoppers_order_is_not_found(world):
    number = world["order"].number
    stranger = Client()
    stranger.force_login(User.objects.create_user("stranger"))
    assert Client().get(reverse("catalog:order_detail", args=[number])).status_code == 404
    assert stranger.get(reverse("catalog:order_detail", args=[number])).status_code == 404
    owner = Client()
    owner.force_login(world["order"].user)
    assert owner.get(reverse("catalog:order_detail", args=[number])).status_code == 200


def test_a_browser_reads_only_its_own_visitors_recommendations(world, settings):
    browser = Client()
    browser.cookies[settings.VISITOR_COOKIE_NAME] = "my-own-visitor"
    own = browser.get(reverse("api:recommendations"))
    assert own.status_code == 200
    assert own.json()["visitor"] == "my-own-visitor"
    # The same answer whether or not the other visitor exists: no oracle of who shops here.
    for other in ("owner-visitor", "nobody-at-all"):
        response = browser.get(reverse("api:recommendations"), {"visitor": other})
        assert response.status_code == 403
