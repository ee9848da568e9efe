"""The project's URLs plus two views that fail, for the error-response tests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from shopsmart.urls import urlpatterns as project_urlpatterns

handler404 = "shopsmart.errors.page_not_found"
handler500 = "shopsmart.errors.server_error"


def broken(_request: HttpRequest) -> HttpResponse:
    raise RuntimeError('SELECT secret_column FROM no_such_table: relation "x" does not exist')


urlpatterns = [
    path("api/broken", broken),
    path("broken", broken),
    *project_urlpatterns,
]
