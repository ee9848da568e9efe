"""Every URL the project serves, walked as an anonymous visitor, a signed-in shopper and a
staff member of each role.

Each URL pattern must be classified below: a new view that nobody classified fails the walk,
so access is decided on purpose, never by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from catalog.models import OrderStatus
from catalog.services import CheckoutDetails, order_place
from catalog.tests.factories import CategoryFactory, ProductFactory
from catalog.tests.test_checkout import DETAILS
from dashboard import permissions
from shopsmart.accounts.roles import ROLES, role_permissions
from tracking.tests.factories import UserFactory, role_member, visitor_pk

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
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "api:auth_signup",
    "api:auth_login",
    # The signed token of the emailed link is the credential.
    "email_verify",
    "api:auth_verify_email",
    "api:auth_password_reset",
    "api:auth_password_reset_confirm",
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
    "password_change",
    "password_change_done",
    "catalog:review_add",
    "catalog:order_detail",
    "api:recommendations",
    "api:events",
    "api:auth_logout",
    "api:me",
    "api:cart",
    "api:cart_line",
    "email_verify_resend",
    "api:auth_verify_email_resend",
    "api:seller_products",
    "api:seller_product",
    "api:seller_order_lines",
    "api:seller_figures",
    "sellers:products",
    "sellers:product_new",
    "sellers:product_edit",
    "sellers:product_withdraw",
    "sellers:product_relist",
    "sellers:order_lines",
    "api:orders",
    "api:order",
    "api:order_cancel",
}
# Staff only (the admin, the operators' dashboard, cache flushes, metrics in production).
STAFF_NAMESPACES = {"admin", "dashboard"}
STAFF = {
    "api:cache_flush",
    "api:merchandising_rules",
    "api:merchandising_rule",
    "api:experiment_results",
    "metrics",
}

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


# What each staff page or action outside the admin needs, per method.
NEEDS: dict[str, dict[str, str]] = {
    "dashboard:overview": {"GET": permissions.VIEW_FIGURES},
    "dashboard:pipelines": {"GET": permissions.VIEW_PIPELINES},
    "dashboard:pipeline_run": {"POST": permissions.RUN_PIPELINES},
    "dashboard:caches_flush": {"POST": permissions.FLUSH_CACHES},
    "dashboard:experiments": {"GET": permissions.VIEW_EXPERIMENTS},
    "dashboard:experiment": {"GET": permissions.VIEW_EXPERIMENTS},
    "api:experiment_results": {"GET": permissions.VIEW_EXPERIMENTS},
    "metrics": {"GET": permissions.VIEW_PIPELINES},
    "api:cache_flush": {"POST": permissions.FLUSH_CACHES},
    "api:merchandising_rules": {
        "GET": "recommender.view_merchandisingrule",
        "POST": "recommender.add_merchandisingrule",
    },
    "admin:recommender_merchandisingrule_preview": {"GET": "recommender.view_merchandisingrule"},
    "api:merchandising_rule": {
        "GET": "recommender.view_merchandisingrule",
        "PATCH": "recommender.change_merchandisingrule",
        "DELETE": "recommender.delete_merchandisingrule",
    },
}
# The admin's pages of a model and the permissions that open them (any of).
ADMIN_VIEWS = {
    "changelist": ("view", "change"),
    "change": ("view", "change"),
    "history": ("view", "change"),
    "add": ("add",),
    "delete": ("delete",),
}


def admin_needs() -> dict[str, tuple[str, ...]]:
    """Every registered model's admin pages, by URL name, with the permissions (any of)."""
    needs = {}
    for model in apps.get_models():
        if not admin.site.is_registered(model):
            continue
        opts = model._meta
        for view, actions in ADMIN_VIEWS.items():
            needs[f"admin:{opts.app_label}_{opts.model_name}_{view}"] = tuple(
                f"{opts.app_label}.{action}_{opts.model_name}" for action in actions
            )
    return needs


def staff_of(role: str | None) -> User:
    if role is None:
        return UserFactory.create(username="staff-without-role", is_staff=True)
    return role_member(role, username=f"staff-{role.lower().replace(' ', '-')}", is_staff=True)


@pytest.mark.parametrize("role", [*ROLES, None], ids=[*ROLES, "no role"])
def test_each_role_opens_exactly_the_staff_urls_its_permissions_allow(world, settings, role):
    """Every role against every staff page, action and API endpoint: allowed where its
    permissions say, refused (403, or 404 for an admin app it has nothing of) everywhere
    else."""
    settings.METRICS_PUBLIC = False
    held = role_permissions(role) if role else set()
    client = Client()
    client.force_login(staff_of(role))
    admin_pages = admin_needs()
    checked = 0
    for route in all_routes():
        if route.name in NEEDS:
            for method, permission in NEEDS[route.name].items():
                for url in sample_urls(route, world):
                    answer = getattr(client, method.lower())(url)
                    refused = answer.status_code in (401, 403)
                    assert refused == (permission not in held), (role, method, url, answer)
                    checked += 1
        elif route.name in admin_pages:
            allowed = any(p in held for p in admin_pages[route.name])
            for url in sample_urls(route, world):
                answer = client.get(url)
                if route.name.endswith("_history") and answer.status_code == 302:
                    continue  # no such object: the history page looks it up before rights
                assert (answer.status_code == 403) == (not allowed), (role, url, answer)
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("role", [*ROLES, None], ids=[*ROLES, "no role"])
def test_only_support_cancels_orders_from_the_admin(world, role):
    client = Client()
    client.force_login(staff_of(role))
    order = world["order"]
    client.post(
        reverse("admin:catalog_order_changelist"),
        {"action": "cancel_orders", "_selected_action": [order.pk]},
    )
    order.refresh_from_db()
    assert (order.status == OrderStatus.CANCELLED) == (role == "Support")


def test_the_dashboard_shows_each_role_only_what_it_may_see(world, settings):
    """No money without the revenue permission; no "Run now" or "Flush" without theirs."""
    pages = {}
    for role in ("Analyst", "Operator"):
        client = Client()
        client.force_login(staff_of(role))
        pages[role] = {
            name: client.get(reverse(f"dashboard:{name}")).content.decode()
            for name in ("overview", "pipelines")
        }
    assert "Revenue" in pages["Analyst"]["overview"]
    assert "Run now" not in pages["Analyst"]["pipelines"]  # a 403 page
    assert "Run now" in pages["Operator"]["pipelines"]
    assert "Flush the caches" in pages["Operator"]["pipelines"]
    merchandiser = Client()
    merchandiser.force_login(role_member("Merchandiser", username="m", is_staff=True))
    assert merchandiser.get(reverse("dashboard:overview")).status_code == 403
    # Figures without money: a staff member allowed the figures but not the revenue.
    counter = role_member("Support", username="counter", is_staff=True)
    counter.user_permissions.add(Permission.objects.get(codename="view_event"))
    client = Client()
    client.force_login(counter)
    overview = client.get(reverse("dashboard:overview")).content.decode()
    assert "Visitors" in overview
    assert "Revenue" not in overview
    assert "£" not in overview
