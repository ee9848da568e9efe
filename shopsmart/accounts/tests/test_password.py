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
