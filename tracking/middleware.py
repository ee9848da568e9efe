"""The first-party visitor cookie: every browser gets a random id, its Visitor's external_id.

The id is set on the first page a browser asks for and kept for a year; the Visitor row itself
is created with the browser's first event (tracking.services), so crawlers that never act
leave nothing behind. The cookie is HttpOnly (no script reads it), SameSite=Lax and, in
production, Secure.

Signed in, the shopper is their account's visitor on every device: logging in puts that
visitor's id in the session (ACCOUNT_VISITOR_SESSION_KEY), which wins over the cookie and
replaces it; logging out gives the browser a new anonymous id (shopsmart.accounts).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from tracking.models import new_visitor_id

VISITOR_COOKIE_MAX_AGE = 365 * 24 * 60 * 60
# What this middleware issues (32 hex digits); anything else in the cookie is replaced.
VISITOR_ID = re.compile(r"[0-9a-f]{32}")
ACCOUNT_VISITOR_SESSION_KEY = "account_visitor"


class VisitorCookieMiddleware:
    """Sets `request.visitor_id` on every request, and the cookie on pages that lacked it or
    when the visitor changed (at login and logout)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.COOKIES.get(settings.VISITOR_COOKIE_NAME, "")
        issued = VISITOR_ID.fullmatch(sent) is None
        visitor_id = new_visitor_id() if issued else sent
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            visitor_id = request.session.get(ACCOUNT_VISITOR_SESSION_KEY, visitor_id)
        request.visitor_id = visitor_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        changed = request.visitor_id != sent  # type: ignore[attr-defined]
        # Pages only: API clients and static files get no cookie they did not ask for.
        is_page = response.get("Content-Type", "").startswith("text/html")
        if changed and (is_page or not issued):
            response.set_cookie(
                settings.VISITOR_COOKIE_NAME,
                request.visitor_id,  # type: ignore[attr-defined]
                max_age=VISITOR_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.VISITOR_COOKIE_SECURE,
            )
        return response
