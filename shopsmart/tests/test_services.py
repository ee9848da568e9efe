"""The real servers the store is configured with answer (skipped when not configured)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection

from shopsmart.celery import app


@pytest.mark.redis
def test_redis_cache_round_trip():
    from django_redis import get_redis_connection

    cache.set("probe", {"answer": 42}, timeout=30)
    assert cache.get("probe") == {"answer": 42}
    assert get_redis_connection("default").ping()
    cache.delete("probe")
    assert cache.get("probe") is None


@pytest.mark.broker
def test_celery_broker_accepts_connections():
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=5)
        assert conn.connected


@pytest.mark.postgres
@pytest.mark.django_db
def test_trigram_search_index_and_extension_exist():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() == (1,)
        indexes = connection.introspection.get_constraints(cursor, "catalog_product")
    assert indexes["product_name_trgm_idx"]["type"] == "gin"
