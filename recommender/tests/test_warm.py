"""A fresh web process holds the popular products' neighbour lists and cards before its
first request, so its first lists fetch neither."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from infrastructure import cache
from infrastructure.tests.test_writes import Wire
from recommender.serving.warm import process_warmed

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def fresh_process():
    """Every copy the process holds is out of date, as in a new worker (or one that has just
    seen the similarities recomputed and a product change)."""
    cache.generation_bump(cache.SIMILARITY)
    cache.generation_bump(cache.CATALOG)


def first_list(api, monkeypatch) -> tuple[list[str], Wire]:
    """Ann's list, the SQL it ran and what it sent to Redis."""
    wire = Wire(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        answer = api.get("/api/recommendations", {"visitor": "ann", "k": 2})
    assert answer.status_code == 200
    assert [item["product"]["name"] for item in answer.json()["items"]] == [
        "Brown Teapot",
        "Tea Cup",
    ]
    return [q["sql"] for q in queries.captured_queries], wire


def reads_copies(sql: str) -> bool:
    """Whether a statement reads products' cards or neighbour lists."""
    return any(
        f'"{table}"' in sql
        for table in (
            "catalog_product",
            "recommender_itemsimilarity",
            "recommender_contentsimilarity",
        )
    )


def test_a_warmed_process_computes_its_first_list_from_its_own_copies(
    shop, api, fresh_process, monkeypatch
):
    assert process_warmed() == 3
    statements, wire = first_list(api, monkeypatch)
    # No card and no neighbour list read, from the database or from Redis.
    assert not any(reads_copies(sql) for sql in statements)
    assert wire.looked_up  # the list's own lookups...
    assert not any(":sim:neighbours:" in key for keys in wire.looked_up for key in keys)


def test_an_unwarmed_process_fetches_them_while_the_shopper_waits(
    shop, api, fresh_process, monkeypatch
):
    statements, wire = first_list(api, monkeypatch)
    assert any(reads_copies(sql) for sql in statements)
    assert any(":sim:neighbours:" in key for keys in wire.looked_up for key in keys)


def test_a_process_starts_unwarmed_when_the_database_cannot_be_read(shop, fresh_process):
    with connection.execute_wrapper(refuse):
        assert process_warmed() == 0


def refuse(*_args: object) -> None:
    from django.db import OperationalError

    raise OperationalError("the database is down")
