"""Import a catalog from a plain CSV file: external_id, name, description, price, category,
image_url, stock (a header row with these names, in any order; extra columns are ignored).

A category is a name, or a path of names ("Home > Kitchen"), created when missing. A product is
found by external_id: new ones are created, known ones updated (names, prices and stock change).
Rows are streamed and written in batches, each in one transaction; bad rows are skipped and
counted by reason with their line numbers.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from catalog.models import Category, Product
from catalog.placeholders import placeholder_url
from catalog.signals import products_imported
from infrastructure.imports import NUL_BYTE, ImportReport, Progress, csv_rows, has_nul_byte

COLUMNS = ("external_id", "name", "description", "price", "category", "image_url", "stock")
REQUIRED = ("external_id", "name", "price", "category")
BATCH_SIZE = 1_000
UPDATED_FIELDS = ["name", "slug", "description", "price", "category", "image_url", "stock"]
MAX_PRICE = Decimal("99999999.99")
# PositiveIntegerField's largest value on every database Django supports.
MAX_STOCK = 2_147_483_647
CATEGORY_NAME_MAX_LENGTH = 120  # Category.name


def catalog_import(
    *, path: Path, batch_size: int = BATCH_SIZE, progress: Progress | None = None
) -> ImportReport:
    report = ImportReport()
    categories: dict[str, int] = {}
    batch: list[Product] = []
    seen: set[str] = set()
    rows = csv_rows(path, kind="a catalog file", columns=COLUMNS, required=REQUIRED)
    for number, row in rows:
        report.rows_read += 1
        problem = _problem(row, seen)
        if problem:
            report.skip(problem, number)
            continue
        seen.add(row["external_id"].strip())
        batch.append(_product(row, categories))
        if len(batch) >= batch_size:
            _write(batch, report)
            batch = []
        if progress is not None and number % 1_000 == 0:
            progress(number)
    _write(batch, report)
    report.created["categories"] = len(categories)
    transaction.on_commit(lambda: products_imported.send(sender=Product))
    return report


def _problem(row: dict[str, str], seen: set[str]) -> str | None:
    if has_nul_byte(row):
        return NUL_BYTE
    external_id = row["external_id"].strip()
    if not external_id or len(external_id) > 64:
        return "external_id_missing_or_too_long"
    if external_id in seen:
        return "external_id_repeated_in_file"
    if not row["name"].strip() or len(row["name"].strip()) > 255:
        return "name_missing_or_too_long"
    parts = [" ".join(part.split()) for part in row["category"].split(">")]
    if not any(parts):
        return "category_missing"
    if any(len(part) > CATEGORY_NAME_MAX_LENGTH for part in parts):
        return "category_name_too_long"
    try:
        price = Decimal(row["price"].strip())
    except InvalidOperation:
        return "price_not_a_number"
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        return "price_out_of_range"
    stock = row.get("stock", "").strip() or "0"
    if not stock.isdecimal():
        return "stock_not_a_whole_number"
    if int(stock) > MAX_STOCK:
        return "stock_out_of_range"
    if len(row.get("image_url", "")) > 500:
        return "image_url_too_long"
    return None


def _product(row: dict[str, str], categories: dict[str, int]) -> Product:
    name = " ".join(row["name"].split())
    external_id = row["external_id"].strip()
    category_id = _category_id(row["category"], categories)
    return Product(
        external_id=external_id,
        name=name,
        slug=slugify(name)[:255] or slugify(external_id),
        description=row.get("description", "").strip(),
        price=Decimal(row["price"].strip()),
        category_id=category_id,
        image_url=row.get("image_url", "").strip()
        or placeholder_url(
            theme=slugify(row["category"].split(">")[-1]) or "product",
            key=slugify(external_id) or "item",
        ),
        stock=int(row.get("stock", "").strip() or 0),
    )


def _category_id(path: str, known: dict[str, int]) -> int:
    """The category at the end of a "Parent > Child" path, creating what is missing."""
    parent: int | None = None
    for name in (" ".join(part.split()) for part in path.split(">")):
        if not name:
            continue
        if name not in known:
            category, _ = Category.objects.get_or_create(
                slug=slugify(name)[:140], defaults={"name": name[:120], "parent_id": parent}
            )
            known[name] = category.pk
        parent = known[name]
    if parent is None:
        raise ValueError(f"Not a category path: {path!r}")
    return parent


@transaction.atomic
def _write(batch: list[Product], report: ImportReport) -> None:
    if not batch:
        return
    ids = [product.external_id for product in batch]
    known = set(Product.objects.filter(external_id__in=ids).values_list("external_id", flat=True))
    Product.objects.bulk_create(
        batch,
        update_conflicts=True,
        unique_fields=["external_id"],
        update_fields=UPDATED_FIELDS,
    )
    report.created["products"] += len(batch) - len(known)
    report.created["products_updated"] += len(known)
