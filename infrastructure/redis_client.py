"""The Redis client behind Django's cache (django-redis), for what the cache API lacks:
pipelines of several commands, lists."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache


def redis_client() -> Any:
    """django-redis's client (it makes keys and encodes values as the cache does, and its
    raw connection can pipeline commands); None on other cache backends."""
    client = getattr(cache, "client", None)
    return client if hasattr(client, "get_client") else None


def redis_connection() -> Any:
    """The raw Redis connection behind the cache; None on other cache backends."""
    client = redis_client()
    return client.get_client(write=True) if client is not None else None
