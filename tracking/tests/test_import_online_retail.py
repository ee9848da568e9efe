from __future__ import annotations

import gzip
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.categorise import derive_categories
from catalog.models import Category, Product
from tracking.importers.online_retail import online_retail_import, readable_name
from tracking.models import Event, EventSource, Visitor

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).parent / "fixtures" / "online-retail-sample.csv"


def test_the_sample_imports_products_customers_guests_and_one_event_per_product_and_invoice():
    report = online_retail_import(path=SAMPLE)
    assert report.rows_read == 12
    assert report.as_dict()["skipped"] == {
        "cancellation": {"rows": 1, "first_lines": [7]},
        "non_product_code": {"rows": 2, "first_lines": [8, 12]},
        "price_not_positive": {"rows": 1, "first_lines": [10]},
        "quantity_not_positive": {"rows": 1, "first_lines": [9]},
        "unreadable": {"rows": 1, "first_lines": [11]},
    }
    assert report.created["products"] == 4
    assert report.created["visitors"] == 2  # customer 17850 and the guest invoice 536366
    assert report.created["events"] == 5

    heart = Product.objects.get(external_id="85123A")
    assert heart.name == "White Hanging Heart T-Light Holder"
    assert heart.metadata["description"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert heart.price == Decimal("2.55")
    assert heart.category.name  # a derived category
    lantern = Product.objects.get(external_id="71053")
    assert lantern.price == Decimal("3.50")  # the latest price seen
    assert lantern.name == "White Metal Lantern"  # spaces tidied

    customer = Visitor.objects.get(external_id="17850")
    assert not customer.is_anonymous
    assert Visitor.objects.get(external_id="invoice-536366").is_anonymous
    merged = Event.objects.get(event_id="uci-536365-85123A")
    assert merged.metadata == {
        "invoice": "536365",
        "quantity": 8,
        "revenue": "20.40",
        "country": "United Kingdom",
    }
    assert merged.source == EventSource.IMPORT
    assert merged.occurred_at.isoformat() == "2010-12-01T08:26:00+00:00"
    summer = Event.objects.get(event_id="uci-536385-84029G")
    assert summer.visitor == customer


def test_importing_again_adds_nothing(tmp_path):
    online_retail_import(path=SAMPLE)
    counts = (Product.objects.count(), Visitor.objects.count(), Event.objects.count())
    categories = set(Category.objects.values_list("name", flat=True))
    again = online_retail_import(path=SAMPLE, batch_size=2)
    assert (Product.objects.count(), Visitor.objects.count(), Event.objects.count()) == counts
    assert set(Category.objects.values_list("name", flat=True)) == categories
    assert again.already_imported == 5
    assert sum(again.created.values()) == 0


def test_a_gzipped_file_imports_the_same(tmp_path):
    packed = tmp_path / "sample.csv.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert online_retail_import(path=packed).created["events"] == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"timestamp,visitorid,event,itemid,transactionid\n1,2,view,3,\n", "missing column"),
        (b"\xff\xfe\x00garbage", "cannot be read"),
    ],
)
def test_a_file_of_another_format_is_refused_and_nothing_imported(tmp_path, content, message):
    wrong = tmp_path / "wrong.csv"
    wrong.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_online_retail", str(wrong), verbosity=0)
    assert not Product.objects.exists()
    assert not Event.objects.exists()


def test_a_truncated_gzip_is_refused_and_nothing_imported(tmp_path):
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(gzip.compress(SAMPLE.read_bytes() * 50)[:300])
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("import_online_retail", str(truncated), verbosity=0)
    assert not Product.objects.exists()
    assert not Event.objects.exists()


def test_the_command_prints_the_report():
    out = StringIO()
    call_command("import_online_retail", str(SAMPLE), verbosity=0, stdout=out)
    assert '"rows_read": 12' in out.getvalue()
    assert '"cancellation"' in out.getvalue()
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_online_retail", "/no/such/file.csv", verbosity=0)


def test_each_pass_over_the_file_has_its_own_bar_counting_its_lines():
    lines = sum(1 for _ in SAMPLE.open()) - 1  # the header is not a line of data
    err = StringIO()
    call_command("import_online_retail", str(SAMPLE), stdout=StringIO(), stderr=err)
    bars = err.getvalue()
    assert "Reading (pass 1 of 2): 100%" in bars
    assert "Importing (pass 2 of 2): 100%" in bars
    assert f"{lines}/{lines} [" in bars
    # Each bar counts one pass: no total of both passes. (Read the totals only: the rate a bar
    # prints, such as "2415.3 lines/s", may hold any digits.)
    totals = {int(total) for total in re.findall(r"\d+/(\d+) \[", bars)}
    assert totals == {lines}


def test_names_are_made_readable():
    assert readable_name("DOLLY GIRL'S LUNCH BOX", "1") == "Dolly Girl's Lunch Box"
    assert readable_name("*USB OFFICE MIRROR BALL", "2") == "Usb Office Mirror Ball"
    assert readable_name("", "85123A") == "Product 85123A"


def test_derived_categories_are_stable_and_named_by_their_terms():
    names = [
        f"{kind} {colour} {n}"
        for kind in ("Mug", "Lantern", "Bag")
        for colour in ("Red", "Blue")
        for n in range(20)
    ]
    first, second = derive_categories(names), derive_categories(list(names))
    assert first == second
    tops = {c.top for c in first}
    assert len(tops) == 3
    assert {top.split(" & ")[0] for top in tops} == {"Mug", "Lantern", "Bag"}


def test_an_interrupted_import_keeps_whole_batches_and_a_rerun_completes_it(monkeypatch):
    """Interrupted inside its third batch, after the rows reached the database: the two
    batches before it stay, nothing of the third does, and a re-run adds what is missing."""
    from collections import Counter

    from infrastructure.imports import ImportReport
    from tracking.importers import online_retail

    class InterruptedOnTheThirdBatch(Counter[str]):
        def __setitem__(self, key: str, value: int) -> None:
            if key == "events" and value > 4:  # counted once the batch is written
                raise KeyboardInterrupt
            super().__setitem__(key, value)

    class Report(ImportReport):
        def __init__(self) -> None:
            super().__init__()
            self.created = InterruptedOnTheThirdBatch()

    monkeypatch.setattr(online_retail, "ImportReport", Report)
    with pytest.raises(KeyboardInterrupt):
        online_retail_import(path=SAMPLE, batch_size=2)
    assert Event.objects.count() == 4  # two whole batches of two; the third rolled back

    monkeypatch.setattr(online_retail, "ImportReport", ImportReport)
    again = online_retail_import(path=SAMPLE, batch_size=2)
    assert again.already_imported == 4
    assert again.created["events"] == 1
    assert Event.objects.count() == 5
    assert Event.objects.values("event_id").distinct().count() == 5
