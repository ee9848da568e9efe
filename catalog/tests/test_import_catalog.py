from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.importers import catalog_import
from catalog.models import Category, Product

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).parent / "fixtures" / "catalog-sample.csv"


def test_the_sample_creates_products_and_the_category_tree_and_skips_bad_rows():
    report = catalog_import(path=SAMPLE)
    assert report.rows_read == 10
    assert report.as_dict()["skipped"] == {
        "category_missing": {"rows": 1, "first_lines": [11]},
        "external_id_missing_or_too_long": {"rows": 1, "first_lines": [5]},
        "external_id_repeated_in_file": {"rows": 1, "first_lines": [6]},
        "name_missing_or_too_long": {"rows": 1, "first_lines": [7]},
        "price_not_a_number": {"rows": 1, "first_lines": [8]},
        "price_out_of_range": {"rows": 1, "first_lines": [9]},
        "stock_not_a_whole_number": {"rows": 1, "first_lines": [10]},
    }
    assert report.created["products"] == 3
    mug = Product.objects.get(external_id="MUG-1")
    assert (mug.name, mug.price, mug.stock) == ("Blue Mug", Decimal("4.50"), 12)
    assert mug.category.name == "Kitchen"
    assert mug.category.parent is not None
    assert mug.category.parent.name == "Home"
    assert mug.image_url.startswith("/img/placeholder/kitchen/")
    assert Product.objects.get(external_id="POT-1").image_url == "https://img.example.com/pot.jpg"
    assert set(Category.objects.values_list("name", flat=True)) == {"Home", "Kitchen", "Lighting"}


def test_importing_again_updates_and_never_duplicates(tmp_path):
    catalog_import(path=SAMPLE)
    changed = tmp_path / "changed.csv"
    changed.write_text(
        "external_id,name,price,category,stock\nMUG-1,Blue Mug,5.00,Home > Kitchen,7\n",
        encoding="utf-8",
    )
    report = catalog_import(path=changed)
    assert (report.created["products"], report.created["products_updated"]) == (0, 1)
    mug = Product.objects.get(external_id="MUG-1")
    assert (mug.price, mug.stock) == (Decimal("5.00"), 7)
    assert Product.objects.count() == 3
    assert Category.objects.count() == 3


def test_a_stock_in_superscript_digits_is_a_bad_row_not_a_crash(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text(
        "external_id,name,price,category,stock\nMUG-1,Blue Mug,5.00,Kitchen,\u00b2\n",
        encoding="utf-8",
    )
    report = catalog_import(path=odd)
    assert not Product.objects.exists()
    assert report.skipped["stock_not_a_whole_number"] == 1


def test_a_file_of_another_format_is_refused(tmp_path):
    wrong = tmp_path / "events.csv"
    wrong.write_text("timestamp,visitorid,event,itemid\n1,2,view,3\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing column"):
        call_command("import_catalog", str(wrong), verbosity=0)
    assert not Product.objects.exists()


def test_the_command_prints_the_report():
    out = StringIO()
    call_command("import_catalog", str(SAMPLE), "--batch-size", "2", verbosity=0, stdout=out)
    assert '"products": 3' in out.getvalue()
    assert Product.objects.count() == 3
