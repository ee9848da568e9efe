from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.tests.factories import ProductFactory
from tracking.importers.retailrocket import retailrocket_import
from tracking.models import Event, EventSource, EventType, Visitor

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).parent / "fixtures" / "retailrocket-sample.csv"


@pytest.fixture
def catalog():
    return {code: ProductFactory.create(external_id=code) for code in ("355908", "248676")}


def test_events_of_known_products_are_imported_once_each(catalog):
    report = retailrocket_import(path=SAMPLE)
    assert report.rows_read == 9
    assert report.as_dict()["skipped"] == {
        "event_type_unknown": {"rows": 1, "first_lines": [8]},
        "product_unknown": {"rows": 1, "first_lines": [7]},
        "timestamp_unreadable": {"rows": 1, "first_lines": [9]},
        "visitor_missing_or_too_long": {"rows": 1, "first_lines": [10]},
    }
    # The repeated transaction row is the same event.
    assert report.created["events"] == 4
    assert report.already_imported == 1
    assert report.created["visitors"] == 3
    bought = Event.objects.get(event_type=EventType.PURCHASE)
    assert bought.product == catalog["355908"]
    assert bought.visitor == Visitor.objects.get(external_id="111016")
    assert bought.metadata == {"transaction": "4000"}
    assert bought.source == EventSource.IMPORT
    assert bought.occurred_at.isoformat() == "2015-06-02T05:17:56.276000+00:00"
    assert Event.objects.filter(event_type=EventType.ADD_TO_CART).count() == 1


def test_importing_again_adds_nothing(catalog):
    retailrocket_import(path=SAMPLE)
    again = retailrocket_import(path=SAMPLE, batch_size=2)
    assert sum(again.created.values()) == 0
    assert Event.objects.count() == 4


def test_the_command_needs_the_format_and_refuses_other_files(catalog, tmp_path):
    with pytest.raises(CommandError, match="--format"):
        call_command("import_events", str(SAMPLE), verbosity=0)
    wrong = tmp_path / "orders.csv"
    wrong.write_text("InvoiceNo,StockCode\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="not a RetailRocket event log"):
        call_command("import_events", str(wrong), "--format", "retailrocket", verbosity=0)
    assert not Event.objects.exists()
    call_command("import_events", str(SAMPLE), "--format", "retailrocket", verbosity=0)
    assert Event.objects.count() == 4
