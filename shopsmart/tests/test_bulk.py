from __future__ import annotations

import pandas as pd
import pytest
from django.db import connection, transaction

from catalog.tests.factories import ProductFactory
from shopsmart.bulk import indexes_deferred, insert_frame
from tracking.models import Event
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
        assert "event_visitor_time_idx" not in index_names()
        insert_frame(Event, event_frame(visitor.pk, product.pk, 10))
    assert index_names() == before
    assert Event.objects.count() == 10


@pytest.mark.postgres
def test_deferred_indexes_refuse_to_run_outside_a_transaction():
    with pytest.raises(transaction.TransactionManagementError), indexes_deferred(Event):
        pass
