from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from shopsmart.security import ContentSecurityPolicyMiddleware

pytestmark = pytest.mark.django_db


def test_every_response_carries_the_content_security_policy(settings):
    for path in ("/", "/api/ping", "/account/login/", "/no-such-page/"):
        policy = Client().get(path)["Content-Security-Policy"]
        assert policy == settings.CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in settings.CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in settings.CONTENT_SECURITY_POLICY


def test_a_response_with_a_policy_of_its_own_keeps_it():
    def view(_request: object) -> HttpResponse:
        response = HttpResponse("framed")
        response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
        return response

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/"))
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"
