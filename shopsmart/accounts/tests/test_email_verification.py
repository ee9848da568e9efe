"""Optional email verification at sign-up: a link by email (a real SMTP server), confirmed on
a page or over the API; shopping never waits for it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from infrastructure.mail.tests.smtp import parts
from shopsmart.accounts.models import VerifiedEmail
from shopsmart.accounts.verification import email_verification_token

pytestmark = pytest.mark.django_db

SIGNUP = {
    "username": "ada",
    "email": "ada@example.com",
    "password1": "a long enough passphrase",
    "password2": "a long enough passphrase",
}
LINK = re.compile(r"https?://[^/\s]+(/account/verify/[^/\s]+/)")


def emailed_link(smtp) -> str:
    [received] = smtp.inbox.messages
    assert received["Subject"] == "Confirm your email address for ShopSmart"
    body = parts(received)
    assert set(body) == {"text/plain", "text/html"}
    link = LINK.search(body["text/plain"])
    assert link is not None
    return link.group(1)


def test_a_new_shopper_confirms_their_address_from_the_emailed_link(smtp, committed):
    browser = Client()
    with committed():
        assert browser.post("/account/signup/", SIGNUP).status_code == 302
    assert "is not confirmed yet" in browser.get("/account/").content.decode()
    link = emailed_link(smtp)
    # Opening the link (as a mail scanner would) confirms nothing by itself.
    assert "Confirm my email address" in browser.get(link).content.decode()
    assert "is not confirmed yet" in browser.get("/account/").content.decode()
    confirmed = browser.post(link, follow=True).content.decode()
    assert "ada@example.com is confirmed" in confirmed
    assert "is not confirmed yet" not in browser.get("/account/").content.decode()
    # A second confirmation is harmless.
    assert browser.post(link).status_code == 302


def test_an_app_signs_up_and_confirms_with_the_token_over_the_api(smtp, committed):
    app = APIClient()
    with committed():
        signed_up = app.post(
            "/api/auth/signup",
            {"username": "ada", "email": "ada@example.com", "password": "a long passphrase!"},
            format="json",
        )
    app.credentials(HTTP_AUTHORIZATION=f"Token {signed_up.json()['token']}")
    assert app.get("/api/me").json()["email_verified"] is False
    token = emailed_link(smtp).rstrip("/").rsplit("/", 1)[1]
    answer = APIClient().post("/api/auth/verify-email", {"token": token}, format="json")
    assert answer.json() == {"email": "ada@example.com", "email_verified": True}
    assert app.get("/api/me").json()["email_verified"] is True


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 1_001])
def test_a_bad_token_gets_a_field_error(token):
    answer = APIClient().post("/api/auth/verify-email", {"token": token}, format="json")
    assert answer.status_code == 400
    assert "token" in answer.json()


def test_an_expired_link_or_one_for_a_changed_address_verifies_nothing():
    user = User.objects.create_user("ada", "ada@example.com", "a long passphrase!")
    token = email_verification_token(user=user)
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        expired = Client().post(f"/account/verify/{token}/")
    assert expired.status_code == 400
    assert "expired" in expired.content.decode()
    user.email = "new@example.com"
    user.save()
    moved = APIClient().post("/api/auth/verify-email", {"token": token}, format="json")
    assert moved.json() == {"token": ["This link is for an address the account no longer has."]}
    assert not VerifiedEmail.objects.exists()


def test_a_shopper_asks_for_a_new_link_on_the_account_page(smtp, committed):
    user = User.objects.create_user("ada", "ada@example.com", "a long passphrase!")
    browser = Client()
    browser.force_login(user)
    with committed():
        answer = browser.post("/account/verify/resend/", follow=True)
    assert "We sent a new link to ada@example.com" in answer.content.decode()
    browser.post(emailed_link(smtp))
    assert "ada@example.com is confirmed" in browser.get("/account/").content.decode()


def test_no_link_is_sent_when_verification_is_off(smtp, committed, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    browser = Client()
    with committed():
        browser.post("/account/signup/", SIGNUP)
    assert smtp.inbox.messages == []
    assert "not confirmed" not in browser.get("/account/").content.decode()
