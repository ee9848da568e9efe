"""The Content-Security-Policy holds in a real browser: every page a shopper or an operator
opens (the admin and the API docs included) works without a single blocked script or style."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Category, Product
from catalog.tests.test_browser import DESKTOP, browser, demo_shop  # noqa: F401 (fixtures)
from tracking.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long security test password"


def watched_page(browser: Any) -> tuple[Any, list[str]]:  # noqa: F811
    """A new page and the list its CSP violations and script errors are collected in."""
    page = browser.new_page(viewport=DESKTOP)
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text or message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    return page, problems


def test_pages_run_under_the_content_security_policy(browser, live_server, demo_shop):  # noqa: F811
    product = Product.objects.browsable().first()
    category = Category.objects.first()
    assert product is not None
    assert category is not None
    shop_pages = [
        "/",
        f"/c/{category.slug}/",
        product.get_absolute_url(),
        "/search/?q=mug",
        "/cart/",
        "/account/login/",
        "/account/signup/",
        "/api/docs/",
    ]
    page, problems = watched_page(browser)
    for path in shop_pages:
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.ok, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    # The API docs are drawn by the Swagger UI script: it ran if the operations are listed.
    assert page.locator(".opblock").count() > 0

    UserFactory.create(username="operator", is_staff=True, is_superuser=True, password=PASSWORD)
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    staff_pages = [
        "/admin/",
        "/admin/catalog/product/",
        f"/admin/catalog/product/{product.pk}/change/",
        "/admin/catalog/product/add/",
        "/dashboard/",
        "/dashboard/pipelines/",
    ]
    for path in staff_pages:
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.ok, path
        page.wait_for_load_state("networkidle")
    page.close()

    assert problems == [], problems
