"""The Content-Security-Policy every response carries.

Django 5.2 has no CSP support of its own (6.0 adds it). The pages run no inline script or
style, so the policy allows only the site's own files: an injected `<script>` or `style=`
would not run even if escaping ever failed. The Swagger UI's start-up script is served as a
file of its own (drf-spectacular's split view) for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = policy
        return response
