"""Password reset by email (Django's views and tokens, the email through a real SMTP server)
and password change on the account page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from infrastructure.mail.tests.smtp import parts

pytestmark = pytest.mark.django_db


def test_a_forgotten_password_is_reset_through_the_emailed_link(smtp, committed):
    User.objects.create_user("ada", "ada@example.com", "an old long passphrase")
    browser = Client()
    with committed():
        sent = browser.post("/account/password/reset/", {"email": "ada@example.com"})
    assert sent.status_code == 302
    [received] = smtp.inbox.messages
    assert received["Subject"] == "Choose a new ShopSmart password"
    body = parts(received)
    assert set(body) == {"text/plain", "text/html"}
    link = re.search(r"https?://[^/\s]+(/account/password/reset/\S+/)", body["text/plain"])
    assert link is not None
    form = browser.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    new = "a brand new long passphrase"
    saved = browser.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert saved.status_code == 302
    assert User.objects.get(username="ada").check_password(new)
    # The link works once.
    assert "does not work any more" in browser.get(link.group(1), follow=True).content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_email(smtp, committed):
    with committed():
        answer = Client().post("/account/password/reset/", {"email": "nobody@example.com"})
    assert answer.status_code == 302
    assert smtp.inbox.messages == []


def test_a_signed_in_shopper_changes_their_password_and_their_app_is_signed_out(client):
    user = User.objects.create_user("ada", "ada@example.com", "an old long passphrase")
    token = Token.objects.create(user=user)
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert app.get("/api/me").status_code == 200
    client.force_login(user)
    new = "a brand new long passphrase"
    changed = client.post(
        "/account/password/",
        {"old_password": "an old long passphrase", "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302
    assert User.objects.get(username="ada").check_password(new)
    assert client.get("/account/").status_code == 200  # still signed in here
    assert app.get("/api/me").status_code == 401  # and nowhere else


def test_an_app_resets_a_forgotten_password_with_the_emailed_link(smtp, committed):
    user = User.objects.create_user("ada", "ada@example.com", "an old long passphrase")
    old_token = Token.objects.create(user=user).key
    app = APIClient()
    with committed():
        asked = app.post("/api/auth/password/reset", {"email": "ada@example.com"}, format="json")
    assert asked.status_code == 202
    [received] = smtp.inbox.messages
    link = re.search(r"/account/password/reset/([^/\s]+)/([^/\s]+)/", parts(received)["text/plain"])
    assert link is not None
    uid, token = link.groups()
    weak = app.post(
        "/api/auth/password/reset/confirm",
        {"uid": uid, "token": token, "new_password": "ada"},
        format="json",
    )
    assert weak.status_code == 400
    assert "new_password" in weak.json()
    new = "a brand new long passphrase"
    done = {"uid": uid, "token": token, "new_password": new}
    assert app.post("/api/auth/password/reset/confirm", done, format="json").status_code == 204
    signed_in = app.post("/api/auth/login", {"username": "ada", "password": new}, format="json")
    assert signed_in.status_code == 200
    # The old sessions ended, and the link works once.
    assert signed_in.json()["token"] != old_token
    again = app.post("/api/auth/password/reset/confirm", done, format="json")
    assert again.status_code == 400
    assert "token" in again.json()


def test_an_api_reset_for_an_unknown_address_gets_the_same_answer_and_no_email(smtp, committed):
    with committed():
        answer = APIClient().post(
            "/api/auth/password/reset", {"email": "nobody@example.com"}, format="json"
        )
    assert answer.status_code == 202
    assert smtp.inbox.messages == []


@pytest.mark.parametrize(
    "body",
    [
        {"uid": "MQ", "token": "nope", "new_password": "a long passphrase!"},
        {"uid": "!!", "token": "nope", "new_password": "a long passphrase!"},
        {"uid": "OTk5OTk", "token": "nope", "new_password": "a long passphrase!"},
    ],
    ids=["bad token", "bad uid", "no such account"],
)
def test_a_bad_reset_link_changes_nothing(body):
    user = User.objects.create_user("ada", "ada@example.com", "an old long passphrase")
    answer = APIClient().post("/api/auth/password/reset/confirm", body, format="json")
    assert answer.status_code == 400
    assert "token" in answer.json()
    user.refresh_from_db()
    assert user.check_password("an old long passphrase")
