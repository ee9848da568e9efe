from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.db import IntegrityError, connection, transaction

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from infrastructure.bulk import (
    _python_values,
    indexes_deferred,
    insert_columns,
    insert_frame,
    read_frame,
    table_rebuilt,
)
from recommender.models import ItemSimilarity, TrendingScore
from tracking.models import Event, Visitor
from tracking.tests.factories import VisitorFactory

pytestmark = pytest.mark.django_db(transaction=True)


def event_frame(visitor_id: int, product_id: int, count: int) -> pd.DataFrame:
    when = pd.Timestamp("2026-03-01 10:00:00.123456", tz="UTC")
    return pd.DataFrame(
        {
            "event_id": [f"bulk-{i}" for i in range(count)],
            "visitor_id": visitor_id,
            "product_id": product_id,
            "event_type": "view",
            "occurred_at": [when + pd.Timedelta(minutes=i) for i in range(count)],
            "session_id": "",
            "source": "import",
            "metadata": '{"quantity": 2}',
            "created_at": when,
        }
    )


def test_insert_frame_round_trips_values_on_this_database():
    visitor, product = VisitorFactory.create(), ProductFactory.create()
    assert insert_frame(Event, event_frame(visitor.pk, product.pk, 3)) == 3
    events = list(Event.objects.order_by("occurred_at"))
    assert [e.event_id for e in events] == ["bulk-0", "bulk-1", "bulk-2"]
    assert events[0].occurred_at.isoformat() == "2026-03-01T10:00:00.123456+00:00"
    assert events[2].metadata == {"quantity": 2}
    assert events[0].visitor_id == visitor.pk


def test_insert_frame_of_nothing_does_nothing():
    assert insert_frame(Event, event_frame(1, 1, 0)) == 0


def test_a_failing_batch_leaves_nothing_behind():
    visitor, product = VisitorFactory.create(), ProductFactory.create()
    frame = event_frame(visitor.pk, product.pk, 4)
    frame.loc[3, "event_id"] = "bulk-0"  # duplicate idempotency key
    with pytest.raises(Exception, match=r"(?i)unique"), transaction.atomic():
        insert_frame(Event, frame)
    assert not Event.objects.exists()


@pytest.mark.postgres
def test_deferred_indexes_are_rebuilt_after_the_load():
    def index_names() -> set[str]:
        with connection.cursor() as cursor:
            return set(connection.introspection.get_constraints(cursor, "tracking_event"))

    before = index_names()
    visitor, product = VisitorFactory.create(), ProductFactory.create()
    with transaction.atomic(), indexes_deferred(Event):
        assert "event_visitor_recent_idx" not in index_names()
        insert_frame(Event, event_frame(visitor.pk, product.pk, 10))
    assert index_names() == before
    assert Event.objects.count() == 10


@pytest.mark.postgres
def test_deferred_indexes_refuse_to_run_outside_a_transaction():
    with pytest.raises(transaction.TransactionManagementError), indexes_deferred(Event):
        pass


NOW = pd.Timestamp("2026-03-01", tz="UTC").to_pydatetime()


def trending_frame(product_ids: list[int], score: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": product_ids,
            "category_id": None,
            "window": "7d",
            "score": score,
            "event_count": 1,
            "computed_at": pd.Timestamp(NOW),
        }
    )


def table_shape(table: str) -> dict[str, Any]:
    """Every constraint and index of a table with its definition, and its id sequence."""
    with connection.cursor() as cursor:
        shape: dict[str, Any] = {
            name: {key: value for key, value in info.items() if key != "definition"}
            for name, info in connection.introspection.get_constraints(cursor, table).items()
        }
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            shape["sequence"] = cursor.fetchone()[0]
    return shape


def test_a_rebuilt_table_holds_only_the_new_rows_under_the_same_schema():
    old, new = ProductFactory.create_batch(2), ProductFactory.create_batch(3)
    insert_frame(TrendingScore, trending_frame([p.pk for p in old], 1.0))
    before = table_shape("recommender_trendingscore")
    with table_rebuilt(TrendingScore) as table:
        insert_frame(table, trending_frame([p.pk for p in new], 2.0))
    assert sorted(TrendingScore.objects.values_list("product_id", "score")) == [
        (p.pk, 2.0) for p in new
    ]
    assert table_shape("recommender_trendingscore") == before
    # The rebuilt table enforces what the old one did: its keys, checks and foreign keys.
    for bad in ({"product_id": new[0].pk}, {"score": -1.0}, {"product_id": 10**9}):
        row = {"product_id": old[0].pk, "window": "7d", "score": 1.0, "computed_at": NOW}
        with pytest.raises(IntegrityError), transaction.atomic():
            TrendingScore.objects.create(**(row | bad))


def test_a_failed_rebuild_leaves_the_old_rows():
    products = ProductFactory.create_batch(2)
    insert_frame(TrendingScore, trending_frame([p.pk for p in products], 1.0))

    def rebuild_then_fail() -> None:
        with table_rebuilt(TrendingScore) as table:
            insert_frame(table, trending_frame([products[0].pk], 2.0))
            raise RuntimeError("computation failed")

    with pytest.raises(RuntimeError):
        rebuild_then_fail()
    assert sorted(TrendingScore.objects.values_list("score", flat=True)) == [1.0, 1.0]


@pytest.mark.postgres
def test_a_table_other_tables_refer_to_is_not_rebuilt():
    ProductFactory.create()
    with pytest.raises(ValueError, match="foreign keys refer to it"), table_rebuilt(Product):
        pass
    assert Product.objects.count() == 1


def test_read_frame_with_no_rows_is_an_empty_frame_with_its_columns():
    query = "SELECT visitor_id, product_id FROM tracking_event WHERE product_id IN (-1)"
    frame = read_frame(query, {}, ["visitor_id", "product_id"])
    assert list(frame.columns) == ["visitor_id", "product_id"]
    assert frame.empty


def event_columns(visitor_id: int, product_id: int, keys: list[str]) -> dict[str, list[Any]]:
    when = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    return {
        "event_id": keys,
        "visitor": [visitor_id] * len(keys),
        "product": [product_id] * len(keys),
        "event_type": ["purchase"] * len(keys),
        "occurred_at": [when + timedelta(minutes=i) for i in range(len(keys))],
        "session_id": ["s"] * len(keys),
        "source": ["api"] * len(keys),
        "metadata": [{"quantity": i, "note": ["a", 1.5]} for i in range(len(keys))],
        "revenue": [Decimal("2.50"), None, Decimal("10")][: len(keys)],
        "created_at": [when] * len(keys),
    }


def test_insert_columns_round_trips_values_and_skips_stored_and_repeated_keys():
    visitor, product = VisitorFactory.create(), ProductFactory.create()
    assert insert_columns(
        Event, event_columns(visitor.pk, product.pk, ["c-0"]), skip_conflicts_on="event_id"
    ) == ["c-0"]
    inserted = insert_columns(
        Event,
        event_columns(visitor.pk, product.pk, ["c-0", "c-1", "c-1"]),
        skip_conflicts_on="event_id",
    )
    assert inserted == ["c-1"]
    events = {e.event_id: e for e in Event.objects.all()}
    assert sorted(events) == ["c-0", "c-1"]
    # The stored row is the first one's: the skipped ones wrote nothing.
    assert events["c-0"].revenue == Decimal("2.50")
    assert events["c-1"].revenue is None
    assert events["c-1"].occurred_at.isoformat() == "2026-03-01T10:01:00.123456+00:00"
    assert events["c-1"].metadata == {"quantity": 1, "note": ["a", 1.5]}
    assert (events["c-1"].visitor_id, events["c-1"].product_id) == (visitor.pk, product.pk)
    # Columns not given take their database defaults.
    assert (events["c-1"].quantity, events["c-1"].order_ref) == (1, "")


def test_insert_columns_stores_a_row_alone_as_it_stores_it_among_others():
    """One row goes as a row of values, more as arrays: the stored rows are the same."""
    visitor, product = VisitorFactory.create(), ProductFactory.create()
    columns = event_columns(visitor.pk, product.pk, ["a-0", "a-1", "a-2"])
    alone = {name: values[:2] for name, values in columns.items()}
    alone["event_id"] = ["b-0", "b-1"]
    for row in range(2):
        one = {name: values[row : row + 1] for name, values in alone.items()}
        assert insert_columns(Event, one, skip_conflicts_on="event_id") == [f"b-{row}"]
        assert insert_columns(Event, one, skip_conflicts_on="event_id") == []  # stored
    assert insert_columns(Event, columns, skip_conflicts_on="event_id") == ["a-0", "a-1", "a-2"]

    def stored(prefix: str) -> list[tuple[Any, ...]]:
        """Every column but the keys of the rows whose event_id starts with prefix."""
        columns = [f.attname for f in Event._meta.fields if f.attname not in ("id", "event_id")]
        rows = Event.objects.filter(event_id__startswith=prefix).order_by("event_id")
        return list(rows.values_list(*columns))

    assert stored("b-") == stored("a-")[:2]
    assert stored("b-")[0] != stored("b-")[1]


def test_insert_columns_of_no_rows_does_nothing():
    assert insert_columns(Event, {"event_id": []}, skip_conflicts_on="event_id") == []


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"event_id": ["a", "b"], "event_type": ["view"]}, "every row"),
        ({"event_id": ["a"], "events": ["view"]}, "no field"),
        ({"external_id": ["a"], "events": [1]}, "not a column"),
    ],
)
def test_insert_columns_refuses_columns_it_cannot_insert_as_given(columns, message):
    model, key = (Event, "event_id") if "event_id" in columns else (Visitor, "external_id")
    with pytest.raises(Exception, match=rf"(?i){message}"):
        insert_columns(model, columns, skip_conflicts_on=key)
    assert not model.objects.exists()


def test_insert_frame_of_numbers_and_times_round_trips_them_exactly():
    """Such frames (the pipelines' rows) go to PostgreSQL in binary, the others as CSV text:
    either way every value comes back as it was."""
    mug, lamp = ProductFactory.create(), ProductFactory.create()
    when = pd.Timestamp("2026-03-01 10:00:00.123456", tz="UTC")
    frame = pd.DataFrame(
        {
            "product_id": [mug.pk, lamp.pk],
            "similar_product_id": [lamp.pk, mug.pk],
            "score": [0.1 + 0.2, 1e-300],
            "co_occurrence": [2**31 - 1, 0],
            "computed_at": [when, when + pd.Timedelta(microseconds=1)],
        }
    )
    assert insert_frame(ItemSimilarity, frame) == 2
    stored = {s.product_id: s for s in ItemSimilarity.objects.all()}
    assert (stored[mug.pk].score, stored[lamp.pk].score) == (0.1 + 0.2, 1e-300)
    assert (stored[mug.pk].co_occurrence, stored[lamp.pk].co_occurrence) == (2**31 - 1, 0)
    assert stored[lamp.pk].computed_at.isoformat() == "2026-03-01T10:00:00.123457+00:00"


def test_missing_numbers_and_times_are_written_as_null():
    assert _python_values(pd.Series([1.5, np.nan])) == [1.5, None]
    assert _python_values(pd.Series([pd.Timestamp(NOW), pd.NaT], dtype="datetime64[us, UTC]")) == [
        pd.Timestamp(NOW).to_pydatetime(),
        None,
    ]
    assert _python_values(pd.Series([3, 4])) == [3, 4]
    # float32 as CSV text wrote it, its shortest decimal: 0.1, not 0.10000000149011612.
    assert _python_values(pd.Series([0.1, np.nan], dtype=np.float32)) == [0.1, None]
