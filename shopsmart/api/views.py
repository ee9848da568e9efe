"""Service endpoints of the API: ping, health and the staff's cache flush."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard.permissions import FLUSH_CACHES
from infrastructure import cache
from recommender.services import caches_flush
from shopsmart import health

PingSerializer = inline_serializer("Ping", {"status": serializers.CharField()})
HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
        "database": serializers.CharField(),
        "cache": serializers.CharField(help_text="up, down or in-process"),
        "broker": serializers.CharField(help_text="up, down or in-process"),
        "pipelines_last_success_seconds_ago": serializers.DictField(
            child=serializers.FloatField(allow_null=True)
        ),
        "cache_statistics": serializers.DictField(child=serializers.DictField()),
    },
)


class PingView(APIView):
    """The framework's floor: no database, no cache."""

    authentication_classes: list[Any] = []

    @extend_schema(responses=PingSerializer)
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class HealthView(APIView):
    """The database, cache and broker, and how long ago each pipeline last succeeded: 200 when
    the database answers, 503 when it does not."""

    authentication_classes: list[Any] = []
    error_statuses = (503,)

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request: Request) -> Response:
        report = health.health() | {"cache_statistics": cache.statistics()}
        ok = report["status"] == "ok"
        return Response(report, status=status.HTTP_200_OK if ok else 503)


class CanFlushCaches(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm(FLUSH_CACHES))


class CacheFlushView(APIView):
    """Invalidate every cached recommendation, similar and trending list (a user with the
    flush permission: the Operator role)."""

    permission_classes = [CanFlushCaches]
    error_statuses = (401, 403)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Flushed.")})
    def post(self, request: Request) -> Response:
        caches_flush()
        return Response(status=status.HTTP_204_NO_CONTENT)
