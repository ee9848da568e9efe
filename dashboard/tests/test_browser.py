"""The dashboard in Debian's Chromium at desktop width (screenshot in artifacts/screenshots/)."""

from __future__ import annotations

import pytest

from catalog.tests.test_browser import DESKTOP, browser, demo_shop, shoot  # noqa: F401 (fixtures)
from recommender import pipelines
from tracking.tests.factories import EventFactory, role_member

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long dashboard test password"


def test_staff_see_kpis_and_charts(browser, live_server, demo_shop):  # noqa: F811
    role_member("Analyst", "Operator", username="operator", is_staff=True, password=PASSWORD)
    pipelines.evaluation_compute()
    for widget in ("home_for_you", "home_for_you", "product_similar"):
        EventFactory.create(metadata={"rec": widget, "strategy": "personalised"})
    page = browser.new_page(viewport=DESKTOP)
    page.goto(live_server.url + "/dashboard/?period=30d")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", name="Store dashboard").is_visible()
    # Activity, clicks, quality on all purchases, and the live protocol's rows the demo week's
    # orders have (guests at least: every order is one).
    assert page.locator("svg.chart").count() >= 3 + 1 + 4 + 1
    assert page.get_by_text("Live: NDCG @20 for guests filling a basket").count() >= 1
    assert page.locator(".kpi").count() == 7
    shoot(page, "desktop-dashboard")
    page.get_by_role("link", name="Pipelines and caches").click()
    assert page.get_by_role("heading", name="Bought together").is_visible()
    assert page.get_by_text("Succeeded").count() == 5  # demo_shop's four and the evaluation
    shoot(page, "desktop-dashboard-pipelines")
    page.close()
