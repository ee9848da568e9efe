"""The shop in a real headless Chromium (Debian's, driven by Playwright) against a live server:
a shopper's whole journey, with screenshots of every page at desktop and phone width saved to
artifacts/screenshots/ (gitignored) for a person to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections

from catalog.models import Order, Product
from conftest import BROWSER
from recommender import pipelines
from tracking.models import Event, EventSource, EventType

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "a long browser test password"


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=BROWSER, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()
        # Playwright runs the test in its own greenlet, where the ORM had connections of its
        # own: closed here, or they would keep the test database from being dropped.
        connections.close_all()


@pytest.fixture
def demo_shop() -> None:
    call_command("seed_demo", categories=4, products=80, visitors=300, events=6000, verbosity=0)
    pipelines.trending_compute()
    pipelines.similarity_compute()
    pipelines.content_compute()
    pipelines.bought_together_compute()


def shoot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def with_typo(word: str) -> str:
    """The word with one inner letter dropped, as a hurried shopper types it."""
    return word[:3] + word[4:]


def test_a_shopper_browses_searches_buys_and_finds_the_order_in_their_account(
    browser, live_server, demo_shop
):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(live_server.url)
    assert page.get_by_role("heading", name="Trending now").is_visible()
    assert page.get_by_role("heading", name="Recommended for you").count() == 0
    shoot(page, "desktop-home-first-visit")

    # Browse a category.
    page.locator(".tiles a").first.click()
    assert page.locator(".grid .card").count() > 0
    assert page.get_by_role("heading", name=re.compile("^Trending in ")).is_visible()
    shoot(page, "desktop-category")

    # Search with a typo.
    product = Product.objects.filter(stock__gte=3).order_by("-review_count")[0]
    word = max(product.name.split(), key=len)
    page.get_by_label("Search products").fill(with_typo(word))
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.locator(".grid .card h3")
    assert word in " ".join(results.all_inner_texts())
    shoot(page, "desktop-search-typo")

    # Open products; their views are recorded and change the home page.
    page.goto(live_server.url + product.get_absolute_url())
    assert page.get_by_role("heading", name=product.name).is_visible()
    shoot(page, "desktop-product")
    similar = page.locator("section.shelf a").first
    similar.click()
    page.go_back()
    page.goto(live_server.url)
    for_you = page.get_by_role("heading", name="Recommended for you")
    assert for_you.is_visible()
    assert page.get_by_text(re.compile("^Because you just viewed")).first.is_visible()
    shoot(page, "desktop-home-after-browsing")
    shopper_views = Event.objects.filter(source=EventSource.STOREFRONT, event_type=EventType.VIEW)
    assert shopper_views.count() == 3

    # Add to cart.
    page.goto(live_server.url + product.get_absolute_url())
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    assert page.get_by_role("heading", name="Your cart").is_visible()
    assert page.get_by_text("Total (2 items)").is_visible()
    shoot(page, "desktop-cart")

    # Create an account: the cart comes along.
    page.get_by_role("link", name="Sign in").click()
    shoot(page, "desktop-sign-in")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_role("heading", name="Your orders").is_visible()

    # Check out.
    page.get_by_role("link", name="Cart").click()
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Delivery address").fill("12 St James's Square\nLondon SW1Y 4JH")
    shoot(page, "desktop-checkout")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    order = Order.objects.get(user__username="ada")  # the demo store has its own orders
    assert page.get_by_role(
        "heading", name=f"Thank you! Order {order.number} is placed"
    ).is_visible()
    shoot(page, "desktop-order-confirmation")
    assert order.lines.get().quantity == 2
    assert Product.objects.get(pk=product.pk).stock == product.stock - 2

    page.get_by_role("link", name="Your account").click()
    assert page.get_by_role("link", name=order.number).is_visible()
    shoot(page, "desktop-account")
    page.close()


def test_every_page_fits_a_phone(browser, live_server, demo_shop):
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    product = Product.objects.filter(stock__gt=0).order_by("-review_count")[0]
    pages = {
        "home": "/",
        "category": f"/c/{product.category.slug}/",
        "product": product.get_absolute_url(),
        "search": "/search/?q=" + with_typo(max(product.name.split(), key=len)),
        "search-nothing": "/search/?q=zzzzqqqq",
        "not-found": "/no-such-page/",
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        # Nothing wider than the screen: no sideways scrolling on a phone.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (name, width)
        shoot(page, f"phone-{name}")
    page.goto(live_server.url + product.get_absolute_url())
    page.get_by_role("button", name="Add to cart").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "phone-cart")
    page.get_by_role("link", name="Check out").click()
    shoot(page, "phone-checkout")
    page.close()
