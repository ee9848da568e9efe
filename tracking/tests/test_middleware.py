from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from tracking.middleware import VISITOR_COOKIE_MAX_AGE, VISITOR_ID

pytestmark = pytest.mark.django_db


def test_a_first_page_sets_a_random_private_visitor_cookie(client):
    response = client.get(reverse("catalog:home"))
    cookie = response.cookies[settings.VISITOR_COOKIE_NAME]
    assert VISITOR_ID.fullmatch(cookie.value)
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == VISITOR_COOKIE_MAX_AGE
    assert not cookie["secure"]  # development serves plain HTTP; production sets Secure
    other = client.__class__().get(reverse("catalog:home"))
    assert other.cookies[settings.VISITOR_COOKIE_NAME].value != cookie.value


def test_a_browser_keeps_its_id_and_a_forged_one_is_replaced(client):
    first = client.get(reverse("catalog:home")).cookies[settings.VISITOR_COOKIE_NAME].value
    again = client.get(reverse("catalog:home"))
    assert settings.VISITOR_COOKIE_NAME not in again.cookies
    assert client.cookies[settings.VISITOR_COOKIE_NAME].value == first
    client.cookies[settings.VISITOR_COOKIE_NAME] = "someone-elses-customer-id"
    replaced = client.get(reverse("catalog:home")).cookies[settings.VISITOR_COOKIE_NAME].value
    assert VISITOR_ID.fullmatch(replaced)


def test_api_answers_set_no_cookie(client):
    response = client.get("/api/ping")
    assert settings.VISITOR_COOKIE_NAME not in response.cookies


def test_production_marks_the_cookie_secure(client, settings):
    settings.VISITOR_COOKIE_SECURE = True
    cookie = client.get(reverse("catalog:home")).cookies[settings.VISITOR_COOKIE_NAME]
    assert cookie["secure"]
