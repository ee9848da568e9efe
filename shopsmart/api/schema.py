"""OpenAPI: every documented operation also documents the errors it can answer with."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")


ERROR_DESCRIPTIONS = {
    400: "Invalid parameters or body: an object of field names, each with a list of messages.",
    401: "No credentials where they are needed (an API token or the visitor's own cookie), "
    "or an Authorization header with a token that is not (or no longer) valid.",
    403: "The credentials do not allow this (for example another visitor's data).",
    404: "No such object (or page).",
    414: "The request line is longer than the server accepts (answered by gunicorn, no body).",
    429: "Too many requests: retry after the number of seconds in the Retry-After header.",
    500: "A server error; the body says no more.",
    503: "A service this answer depends on is down (the database: retry after Retry-After).",
}
# Any operation can answer these, whatever its view: the server's request-line limit, an
# unexpected failure and an unreachable database (shopsmart.errors).
EVERY_OPERATION = (414, 500, 503)


class AutoSchema(SpectacularAutoSchema):
    """Adds the responses of each status in the view's `error_statuses`, and those any
    operation can answer with, to its operations."""

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        statuses = (*getattr(self.view, "error_statuses", ()), *EVERY_OPERATION)
        if getattr(self.view, "authentication_classes", ()):
            # A view that reads credentials refuses a token that is not valid (one signed out
            # since, say), even where none is needed.
            statuses = (*statuses, 401)
        for status in statuses:
            if str(status) in responses:
                continue
            body: Any = OpenApiTypes.OBJECT if status == 400 else ErrorSerializer
            if status == 414:
                body = None
            responses[str(status)] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                OpenApiResponse(response=body, description=ERROR_DESCRIPTIONS[status]),
                str(status),
                direction=direction,
            )
        return responses
