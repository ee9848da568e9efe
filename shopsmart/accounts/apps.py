from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.http import HttpRequest


class AccountsConfig(AppConfig):
    """Shoppers' accounts (django.contrib.auth): signing in carries the browser's anonymous
    history and guest orders over to the account; signing out leaves nothing of it behind."""

    name = "shopsmart.accounts"
    label = "accounts"

    def ready(self) -> None:
        user_logged_in.connect(_signed_in, dispatch_uid="accounts-signed-in")
        user_logged_out.connect(_signed_out, dispatch_uid="accounts-signed-out")


def _signed_in(sender: type, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    from catalog.services import ORDERS_PLACED_SESSION_KEY, orders_claim
    from tracking.middleware import ACCOUNT_VISITOR_SESSION_KEY
    from tracking.services import visitor_sign_in

    browser_visitor = getattr(request, "visitor_id", None)
    if browser_visitor is None:  # not through the middleware (a test client's force_login)
        return
    account = visitor_sign_in(visitor=browser_visitor, user=user)
    orders_claim(numbers=request.session.get(ORDERS_PLACED_SESSION_KEY, []), user=user)
    request.session[ACCOUNT_VISITOR_SESSION_KEY] = account.external_id
    request.visitor_id = account.external_id  # type: ignore[attr-defined]


def _signed_out(sender: type, request: HttpRequest, **kwargs: Any) -> None:
    from tracking.models import new_visitor_id

    # The next shopper on this browser must not see this one's recommendations.
    if hasattr(request, "visitor_id"):
        request.visitor_id = new_visitor_id()
