"""Malformed files for every importer: a row that cannot be stored is reported by reason and
line, a file that cannot be read is refused with a clear message, and nothing is half-written."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Category, Product
from tracking.models import Event, Visitor

pytestmark = pytest.mark.django_db

ONLINE_RETAIL = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
RETAILROCKET = "timestamp,visitorid,event,itemid,transactionid"
CATALOG = "external_id,name,description,price,category,image_url,stock"
GOOD_LINE = "536365,85123A,WHITE MUG,6,12/1/2010 8:26,2.55,17850,United Kingdom"


def import_file(kind: str, path: Path) -> None:
    """The importer's command, which prints its report."""
    if kind == "online_retail":
        call_command("import_online_retail", str(path))
    elif kind == "retailrocket":
        call_command("import_events", str(path), "--format", "retailrocket")
    else:
        call_command("import_catalog", str(path))


def nothing_imported() -> bool:
    return not (Event.objects.exists() or Product.objects.exists() or Category.objects.exists())


@pytest.mark.parametrize(
    ("kind", "header", "line", "reason"),
    [
        ("online_retail", ONLINE_RETAIL, GOOD_LINE.replace("WHITE", "WH\x00ITE"),
         "nul_byte_in_a_field"),
        ("online_retail", ONLINE_RETAIL, GOOD_LINE.replace("17850", "9" * 300),
         "customer_id_too_long"),
        ("online_retail", ONLINE_RETAIL, GOOD_LINE.replace("2.55", "NaN"), "unreadable"),
        ("online_retail", ONLINE_RETAIL, GOOD_LINE.replace("12/1/2010", "99/99/2010"),
         "unreadable"),
        ("online_retail", ONLINE_RETAIL, "536365,85123A", "unreadable"),
        ("retailrocket", RETAILROCKET, "1433221332117,25\x007597,view,355908,",
         "nul_byte_in_a_field"),
        ("retailrocket", RETAILROCKET, f"1433221332117,{'7' * 300},view,355908,",
         "visitor_missing_or_too_long"),
        ("retailrocket", RETAILROCKET, "\u00b2,257597,view,355908,", "timestamp_unreadable"),
        ("catalog", CATALOG, "MUG-1,Blue \x00Mug,desc,4.50,Kitchen,,12", "nul_byte_in_a_field"),
        ("catalog", CATALOG, "MUG-1,Mug,desc,4.50,Kitchen,,99999999999999999999",
         "stock_out_of_range"),
        ("catalog", CATALOG, "MUG-1,Mug,desc,4.50,Kitchen,,\u00b2", "stock_not_a_whole_number"),
        ("catalog", CATALOG, f"MUG-1,Mug,desc,4.50,{'K' * 1000},,12", "category_name_too_long"),
        ("catalog", CATALOG, f"MUG-1,{'N' * 100_000},desc,4.50,Kitchen,,12",
         "name_missing_or_too_long"),
        ("catalog", CATALOG, "MUG-1,Mug,desc,1e400,Kitchen,,12", "price_out_of_range"),
    ],
)  # fmt: skip
def test_a_row_that_cannot_be_stored_is_reported_not_a_crash(
    tmp_path, kind, header, line, reason, capsys
):
    hostile = tmp_path / "hostile.csv"
    hostile.write_text(f"{header}\n{line}\n", encoding="utf-8")

    import_file(kind, hostile)

    assert reason in capsys.readouterr().out
    assert not Event.objects.exists()
    assert not Product.objects.exists()


@pytest.mark.parametrize("kind", ["online_retail", "retailrocket", "catalog"])
@pytest.mark.parametrize(
    "content",
    [
        b"\x80\x81\xfe\xff" * 64,
        ("InvoiceNo,StockCode\n" + "caf\xe9\n").encode("latin-1"),
        b"\x1f\x8b\x08\x00truncated",
    ],
    ids=["binary", "latin-1", "truncated-gzip"],
)
def test_a_file_that_cannot_be_read_is_refused_and_nothing_imported(tmp_path, kind, content):
    name = "broken.csv.gz" if content.startswith(b"\x1f\x8b") else "broken.csv"
    broken = tmp_path / name
    broken.write_bytes(content)
    with pytest.raises(CommandError):
        import_file(kind, broken)
    assert nothing_imported()
    assert not Visitor.objects.exists()


def test_a_field_beyond_the_csv_limit_is_refused_with_its_reason(tmp_path):
    huge = tmp_path / "huge.csv.gz"
    with gzip.open(huge, "wt", encoding="utf-8") as file:
        file.write(f"{ONLINE_RETAIL}\n{GOOD_LINE.replace('WHITE MUG', 'A' * 2_000_000)}\n")
    with pytest.raises(CommandError, match="field larger than field limit"):
        import_file("online_retail", huge)
    assert nothing_imported()
