from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tracking.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_signing_in_gives_the_browser_a_new_session():
    user = UserFactory.create(password=PASSWORD)
    client = Client()
    session = client.session  # a session the browser had before signing in (a cart, say)
    session["cart"] = {"1": 1}
    session.save()
    assert session.session_key is not None
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    before = session_key(client)
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    # A session fixed on the browser before signing in is worth nothing after it.
    assert session_key(client) != before


def test_a_signed_out_session_cannot_be_replayed():
    user = UserFactory.create(password=PASSWORD)
    client = Client()
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    stolen = session_key(client)
    client.post(reverse("logout"))

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert replay.get(reverse("account"))["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password123", "This password is too common."),
        ("83920174", "This password is entirely numeric."),
        ("short1", "This password is too short."),
    ],
)
def test_weak_passwords_are_refused_at_signup(password, message):
    answer = Client().post(
        reverse("signup"),
        {"username": "ada", "email": "ada@example.com", "password1": password,
         "password2": password},
    )  # fmt: skip
    assert message in answer.content.decode()
