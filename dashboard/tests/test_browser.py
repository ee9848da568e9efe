"""The dashboard in Debian's Chromium at desktop width (screenshot in artifacts/screenshots/)."""

from __future__ import annotations

import pytest

from catalog.tests.test_browser import DESKTOP, browser, demo_shop, shoot  # noqa: F401 (fixtures)
from tracking.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long dashboard test password"


def test_staff_see_kpis_and_charts(browser, live_server, demo_shop):  # noqa: F811
    UserFactory.create(username="operator", is_staff=True, password=PASSWORD)
    page = browser.new_page(viewport=DESKTOP)
    page.goto(live_server.url + "/dashboard/?period=30d")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", name="Store dashboard").is_visible()
    assert page.locator("svg.chart").count() == 3
    assert page.locator(".kpi").count() == 7
    shoot(page, "desktop-dashboard")
    page.get_by_role("link", name="Pipelines and caches").click()
    assert page.get_by_role("heading", name="Bought together").is_visible()
    assert page.get_by_text("Succeeded").count() == 4  # the four pipelines demo_shop ran
    shoot(page, "desktop-dashboard-pipelines")
    page.close()
