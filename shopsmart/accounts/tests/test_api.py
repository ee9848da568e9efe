"""A shopper's app signs up, signs in and out, and reads "me" over the API; its token acts for
the shopper's own visitor and nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from catalog.services import CheckoutDetails, order_place
from catalog.tests.factories import ProductFactory
from tracking.models import Event, Visitor
from tracking.tests.factories import EventFactory, VisitorFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long shopper passphrase"


def signed_in(client: APIClient, session: dict[str, Any]) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Token {session['token']}")
    return client


def test_an_app_signs_up_and_its_token_acts_for_the_shoppers_visitor_only():
    app = APIClient()
    mug = ProductFactory.create()
    made = app.post(
        "/api/auth/signup",
        {"username": "ada", "email": "ada@example.com", "password": PASSWORD},
        format="json",
    )
    assert made.status_code == 201, made.content
    session = made.json()
    signed_in(app, session)
    own = app.get("/api/recommendations")
    assert own.status_code == 200
    assert own.json()["visitor"] == session["visitor"]
    assert app.get("/api/recommendations", {"visitor": session["visitor"]}).status_code == 200
    VisitorFactory.create(external_id="someone-else")
    assert app.get("/api/recommendations", {"visitor": "someone-else"}).status_code == 403
    sent = app.post("/api/events", {"product": mug.pk, "event_type": "view"}, format="json")
    assert sent.status_code == 201
    assert Event.objects.get().visitor.external_id == session["visitor"]
    other = {"visitor": "someone-else", "product": mug.pk, "event_type": "view"}
    assert app.post("/api/events", other, format="json").status_code == 403
    assert Event.objects.count() == 1


def test_signing_in_keeps_the_apps_anonymous_history_and_signing_out_ends_the_token():
    User.objects.create_user("ada", "ada@example.com", PASSWORD)
    anonymous = VisitorFactory.create(external_id="app-install-1")
    EventFactory.create(visitor=anonymous)
    app = APIClient()
    session = app.post(
        "/api/auth/login",
        {"username": "ada", "password": PASSWORD, "visitor": "app-install-1"},
        format="json",
    ).json()
    account = Visitor.objects.get(external_id=session["visitor"])
    assert str(account.user) == "ada"
    assert Event.objects.get().visitor == account  # the app's history joined the account
    signed_in(app, session)
    assert app.get("/api/me").json()["visitor"] == session["visitor"]
    assert app.post("/api/auth/logout").status_code == 204
    assert app.get("/api/me").status_code == 401


def test_me_lists_the_shoppers_orders():
    user = User.objects.create_user("ada", "ada@example.com", PASSWORD)
    app = APIClient()
    session = app.post(
        "/api/auth/login", {"username": "ada", "password": PASSWORD}, format="json"
    ).json()
    mug = ProductFactory.create(name="Blue Mug", stock=3)
    order_place(
        checkout_token="t",
        quantities={mug.pk: 2},
        details=CheckoutDetails("Ada", "ada@example.com", "1 Road", "pay_on_delivery"),
        visitor_id=Visitor.objects.get(external_id=session["visitor"]).pk,
        user=user,
    )
    me = signed_in(app, session).get("/api/me").json()
    assert (me["username"], me["email"]) == ("ada", "ada@example.com")
    [order] = me["orders"]
    assert order["lines"] == [
        {"product": mug.pk, "product_name": "Blue Mug", "unit_price": str(mug.price), "quantity": 2}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "ada", "email": "not-an-email", "password": PASSWORD}, "email"),
        ({"username": "ada", "email": "ada@example.com", "password": "123"}, "password"),
        ({"username": "taken", "email": "ada@example.com", "password": PASSWORD}, "username"),
        ({"email": "ada@example.com", "password": PASSWORD}, "username"),
    ],
    ids=["bad email", "weak password", "taken username", "no username"],
)
def test_a_bad_sign_up_gets_field_errors_and_creates_nothing(body, field):
    User.objects.create_user("taken", "taken@example.com", PASSWORD)
    answer = APIClient().post("/api/auth/signup", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert User.objects.count() == 1


def test_wrong_passwords_lock_the_account_and_attempts_are_throttled(settings):
    # The client's limit counts per clock minute: mid-minute, with the clock held, all 26
    # attempts fall in one window (run across a minute's turn, the count would start again).
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 20, tzinfo=UTC), tick=False):
        User.objects.create_user("ada", "ada@example.com", PASSWORD)
        app = APIClient()
        wrong = {"username": "ada", "password": "not it"}
        answers = [app.post("/api/auth/login", wrong, format="json") for _ in range(5)]
        assert [a.status_code for a in answers] == [400] * 4 + [429]  # the fifth locks it
        right = {"username": "ada", "password": PASSWORD}
        locked = app.post("/api/auth/login", right, format="json")
        assert locked.status_code == 429
        assert "Too many failed sign-ins" in locked.json()["detail"]
        assert int(locked.headers["Retry-After"]) > 0
        # Whatever the accounts, one client gets so many attempts a minute.
        others = [
            app.post("/api/auth/login", {"username": f"u{n}", "password": "x"}, format="json")
            for n in range(20)
        ]
        assert others[-1].status_code == 429
        assert "throttled" in others[-1].json()["detail"]
        assert int(others[-1].headers["Retry-After"]) > 0
