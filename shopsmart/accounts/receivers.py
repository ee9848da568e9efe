"""Signing in carries the browser's anonymous history, guest orders and cart over to the
account; signing out leaves nothing of it behind (the cart stays with the account)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from catalog.cart import cart_merge_into_account
from catalog.services import ORDERS_PLACED_SESSION_KEY, orders_claim
from tracking.middleware import ACCOUNT_VISITOR_SESSION_KEY
from tracking.models import new_visitor_id
from tracking.services import visitor_sign_in


def signed_in(sender: type, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    cart_merge_into_account(session=request.session, user=user)
    browser_visitor = getattr(request, "visitor_id", None)
    if browser_visitor is None:  # not through the middleware (a test client's force_login)
        return
    account = visitor_sign_in(visitor=browser_visitor, user=user)
    orders_claim(numbers=request.session.get(ORDERS_PLACED_SESSION_KEY, []), user=user)
    request.session[ACCOUNT_VISITOR_SESSION_KEY] = account.external_id
    request.visitor_id = account.external_id  # type: ignore[attr-defined]


def signed_out(sender: type, request: HttpRequest, **kwargs: Any) -> None:
    # The next shopper on this browser must not see this one's recommendations.
    if hasattr(request, "visitor_id"):
        request.visitor_id = new_visitor_id()
