"""Who may read and write a visitor's data through the API, and how often.

A token or a staff session whose user holds the `tracking.act_for_visitors` permission (the
"API client" role; superusers) may act for any visitor. A shopper's token acts for the
shopper's own visitor only (their account's, which the tracking app names through
`account_visitor_source_register`); a browser without a token for the visitor of its own
first-party cookie, and those writes need the CSRF token like any form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache as default_cache
from redis.exceptions import RedisError, ResponseError
from rest_framework.authentication import CSRFCheck
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import (
    NotAuthenticated,
    PermissionDenied,
    ValidationError,
)
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from infrastructure.api.grants import ACT_FOR_VISITORS, ACTS_FOR_VISITORS_ATTRIBUTE
from infrastructure.redis_client import redis_client, round_trip

VISITOR_MAX_LENGTH = 64

logger = logging.getLogger("shopsmart.cache")


def acts_for_any_visitor(request: Request) -> bool:
    user = request.user
    if not (user and user.is_authenticated):
        return False
    if isinstance(request.auth, Token):
        # The token's authentication may have remembered the answer with the token.
        remembered = getattr(request.auth, ACTS_FOR_VISITORS_ATTRIBUTE, None)
        return bool(remembered) if remembered is not None else user.has_perm(ACT_FOR_VISITORS)
    return bool(user.is_staff and user.has_perm(ACT_FOR_VISITORS))


# The external id of an account's visitor (None: the account has none yet).
AccountVisitorSource = Callable[[Any], str | None]
_account_visitor: AccountVisitorSource | None = None


def account_visitor_source_register(source: AccountVisitorSource) -> None:
    global _account_visitor
    _account_visitor = source


def visitor_cookie(request: Request) -> str | None:
    value = request.COOKIES.get(settings.VISITOR_COOKIE_NAME, "")
    return value if 0 < len(value) <= VISITOR_MAX_LENGTH else None


def visitor_allowed(request: Request, requested: str | None) -> str:
    """The visitor the request may act for: the requested one with a token, else the cookie's.

    Raises 400 (a partner's token without a visitor), 401 (no credentials) or 403 (another
    visitor than the shopper's or the browser's own).
    """
    if acts_for_any_visitor(request):
        if not requested:
            raise ValidationError({"visitor": ["This field is required with an API token."]})
        return requested
    if isinstance(request.auth, Token):
        # A shopper's token: their account's own visitor, and no other.
        account = _account_visitor(request.user) if _account_visitor is not None else None
        if account is None:
            raise PermissionDenied("This token's account has no visitor to act for.")
        if requested and requested != account:
            raise PermissionDenied("A shopper's token may only act for the shopper's visitor.")
        return account
    own = visitor_cookie(request)
    if own is None:
        raise NotAuthenticated("An API token or the visitor cookie is required.")
    if requested and requested != own:
        raise PermissionDenied("A browser may only act for its own visitor.")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _csrf_enforce(request)
    return own


def visitor_optional(request: Request, requested: str | None) -> str | None:
    """The visitor a public answer is shown to, if it names or has one: the requested one
    (checked as visitor_allowed does), else a shopper token's or the browser's own; None for
    a partner's request that names none."""
    if requested:
        return visitor_allowed(request, requested)
    if acts_for_any_visitor(request):
        return None
    if isinstance(request.auth, Token):
        return _account_visitor(request.user) if _account_visitor is not None else None
    return visitor_cookie(request)


def _csrf_enforce(request: Request) -> None:
    """The browser's own cookie authorises writes, so they need CSRF protection, as a
    session-authenticated write does (rest_framework.authentication.SessionAuthentication)."""
    check = CSRFCheck(lambda _request: None)  # type: ignore[arg-type]
    check.process_request(request._request)
    reason = check.process_view(request._request, None, (), {})  # type: ignore[arg-type]
    if reason:
        raise PermissionDenied(f"CSRF Failed: {reason}")


class WindowRateThrottle(SimpleRateThrottle):
    """DRF's rate ("120/minute"), counted per fixed window with one atomic increment: one
    cache round trip a request, where DRF's sliding log reads and rewrites the list of a
    client's request times (two). A client gets at most the rate in each window (so at most
    twice it across a window's boundary); a throttled one is told when the window ends."""

    wait_seconds: float | None = None
    # Set from the rate by SimpleRateThrottle.__init__.
    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        count = self._counted(f"{key}:{window}")
        if count is None:  # a client is never refused because the cache is down
            return True
        self.wait_seconds = (window + 1) * self.duration - now
        return bool(count <= self.num_requests)

    def _counted(self, counter: str) -> int | None:
        """The window's count with this request; None when the cache is down."""
        client = redis_client() if self.cache is default_cache else None
        if client is None:
            # None when the cache is down: django-redis ignores its errors (IGNORE_EXCEPTIONS).
            try:
                return cast("int | None", self.cache.incr(counter))
            except ValueError:  # the window's first request (or the counter was evicted)
                self.cache.add(counter, 0, timeout=self.duration + 1)
                return cast("int | None", self.cache.incr(counter))
        # Created with its expiry if missing, then counted: two plain commands in one round
        # trip, where the cache API's incr runs a Lua script through django-redis's wrappers
        # (a fifteenth of a single event's request).
        name = client.make_key(counter)
        try:
            _, count = round_trip(
                client.get_client(write=True),
                [("SET", name, 0, "EX", self.duration + 1, "NX"), ("INCR", name)],
            )
        except (RedisError, OSError):
            logger.warning("Throttle not counted: the cache is down", exc_info=True)
            return None
        return None if isinstance(count, ResponseError) else int(count)

    def wait(self) -> float | None:
        return self.wait_seconds


class ScopedWindowRateThrottle(ScopedRateThrottle, WindowRateThrottle):
    """DRF's ScopedRateThrottle (the view's `throttle_scope` rate, per user, else per IP),
    counted per fixed window. Its sliding log made a client's every request read and rewrite
    the times of all its requests in the last period: at 600 a minute, 600 floats pickled
    and sent twice, and more for a client given a higher rate."""


class SearchThrottle(WindowRateThrottle):
    """Product searches (listings without a search are not limited): per user, else per IP."""

    scope = "search"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not request.query_params.get("search"):
            return None
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ModelPermissions(DjangoModelPermissions):
    """Django's model permissions for every method: reading needs the view permission too
    (DRF's own class lets any authenticated user read)."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }
