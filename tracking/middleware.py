"""The first-party visitor cookie: every browser gets a random id, its Visitor's external_id.

The id is set on the first page a browser asks for and kept for a year; the Visitor row itself
is created with the browser's first event (tracking.services), so crawlers that never act
leave nothing behind. The cookie is HttpOnly (no script reads it), SameSite=Lax and, in
production, Secure.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

VISITOR_COOKIE_MAX_AGE = 365 * 24 * 60 * 60
# What this middleware issues (32 hex digits); anything else in the cookie is replaced.
VISITOR_ID = re.compile(r"[0-9a-f]{32}")


def new_visitor_id() -> str:
    return secrets.token_hex(16)


class VisitorCookieMiddleware:
    """Sets `request.visitor_id` on every request, and the cookie on pages that lacked it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.COOKIES.get(settings.VISITOR_COOKIE_NAME, "")
        issued = VISITOR_ID.fullmatch(sent) is None
        request.visitor_id = new_visitor_id() if issued else sent  # type: ignore[attr-defined]
        response = self.get_response(request)
        # Pages only: API clients and static files get no cookie they did not ask for.
        if issued and response.get("Content-Type", "").startswith("text/html"):
            response.set_cookie(
                settings.VISITOR_COOKIE_NAME,
                request.visitor_id,  # type: ignore[attr-defined]
                max_age=VISITOR_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.VISITOR_COOKIE_SECURE,
            )
        return response
