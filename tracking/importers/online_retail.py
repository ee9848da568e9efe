"""Import the UCI Online Retail transaction log (InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice, CustomerID, Country) as a store's catalog and purchase history.

- A StockCode is a product's external_id, exactly as written; its name is the most common
  Description, made readable (the source is upper case; the original is kept in metadata); its
  price the latest positive unit price seen.
- A CustomerID is a registered visitor with that external_id; a line without one belongs to an
  anonymous visitor of its own invoice (`invoice-<InvoiceNo>`): a guest checkout still says what
  was bought together.
- Each product of an invoice is one purchase event at InvoiceDate (a product listed twice on one
  invoice is one event, quantities added) with quantity and revenue in metadata and the event_id
  `uci-<InvoiceNo>-<StockCode>`: importing again adds nothing.
- Not purchases, counted by reason: cancellations (InvoiceNo starting with C), non-product codes
  (postage, fees, manual adjustments, vouchers), zero or negative quantities or prices, lines
  that cannot be read.

The file is streamed twice (products and visitors first, then events in batches), so memory
stays flat whatever its length; each batch is written in its own transaction.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils.text import slugify

from catalog.categorise import DerivedCategory, derive_categories
from catalog.models import Category, Product
from catalog.placeholders import placeholder_url
from infrastructure.imports import NUL_BYTE, ImportReport, Progress, csv_rows, has_nul_byte
from tracking.importers.events import ImportedEvent, events_write
from tracking.models import Event, EventType, Visitor
from tracking.signals import events_imported

COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
# Postage, carriage, manual adjustments, bank and marketplace fees, charity, samples, vouchers.
NON_PRODUCT_CODES = {
    "POST", "DOT", "M", "C2", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS",
}  # fmt: skip
VOUCHER = re.compile(r"gift_\d+_\d+", re.IGNORECASE)
UK = ZoneInfo("Europe/London")


class Skip(str):
    """A reason a line is not a purchase."""


CANCELLATION = Skip("cancellation")
NON_PRODUCT = Skip("non_product_code")
NOT_POSITIVE_QUANTITY = Skip("quantity_not_positive")
NOT_POSITIVE_PRICE = Skip("price_not_positive")
UNREADABLE = Skip("unreadable")
CUSTOMER_ID_TOO_LONG = Skip("customer_id_too_long")
HAS_NUL_BYTE = Skip(NUL_BYTE)
# A visitor's external id (CustomerID as written) fits Visitor.external_id.
CUSTOMER_ID_MAX_LENGTH = 64


@dataclass(frozen=True)
class PurchaseLine:
    invoice: str
    stock_code: str
    description: str
    quantity: int
    occurred_at: datetime
    unit_price: Decimal
    revenue: Decimal
    customer: str
    country: str

    @property
    def visitor(self) -> str:
        return self.customer or f"invoice-{self.invoice}"


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    return csv_rows(path, kind="an Online Retail file", columns=COLUMNS)


def classify(row: dict[str, str]) -> PurchaseLine | Skip:
    invoice = (row.get("InvoiceNo") or "").strip()
    code = (row.get("StockCode") or "").strip()
    if has_nul_byte(row):
        return HAS_NUL_BYTE
    if invoice.upper().startswith("C"):
        return CANCELLATION
    if code in NON_PRODUCT_CODES or code.upper() in NON_PRODUCT_CODES or VOUCHER.fullmatch(code):
        return NON_PRODUCT
    try:
        quantity = int(row["Quantity"])
        price = Decimal(row["UnitPrice"])
        occurred_at = _invoice_time(row["InvoiceDate"])
    except (KeyError, ValueError, InvalidOperation):
        return UNREADABLE
    if not price.is_finite():  # NaN or Infinity, which Decimal reads
        return UNREADABLE
    if not invoice or not code or len(code) > 64:
        return UNREADABLE
    if quantity <= 0:
        return NOT_POSITIVE_QUANTITY
    if price <= 0:
        return NOT_POSITIVE_PRICE
    customer = (row.get("CustomerID") or "").strip()
    if customer.endswith(".0"):  # some exports write the id as a float
        customer = customer[:-2]
    if len(customer) > CUSTOMER_ID_MAX_LENGTH:
        return CUSTOMER_ID_TOO_LONG
    return PurchaseLine(
        invoice=invoice,
        stock_code=code,
        description=" ".join((row.get("Description") or "").split()),
        quantity=quantity,
        occurred_at=occurred_at,
        unit_price=price,
        revenue=price * quantity,
        customer=customer,
        country=(row.get("Country") or "").strip(),
    )


@lru_cache(maxsize=65_536)
def _invoice_time(text: str) -> datetime:
    """An InvoiceDate (UK time) as an aware datetime; an invoice's lines share theirs, so each
    is parsed once (parsing was a quarter of the import's time)."""
    return datetime.strptime(text.strip(), "%m/%d/%Y %H:%M").replace(tzinfo=UK)


def readable_name(description: str, stock_code: str) -> str:
    """ "WHITE HANGING HEART T-LIGHT HOLDER" -> "White Hanging Heart T-Light Holder"."""
    description = description.lstrip("*+-., ")
    if not description:
        return f"Product {stock_code}"
    words = []
    for word in description.split():
        words.append("-".join(part[:1].upper() + part[1:].lower() for part in word.split("-")))
    return " ".join(words)


@dataclass
class ProductSeen:
    descriptions: Counter[str]
    price: Decimal
    last_sold: datetime

    @property
    def description(self) -> str:
        # The most common spelling; ties go to the first seen.
        return self.descriptions.most_common(1)[0][0] if self.descriptions else ""


def invoice_lines(
    lines: Iterator[tuple[int, PurchaseLine]],
) -> Iterator[tuple[int, PurchaseLine]]:
    """The purchase lines with each product once per invoice (quantities added), in file order;
    an invoice's lines are consecutive in the file."""
    pending: dict[str, tuple[int, PurchaseLine]] = {}
    invoice = None
    for number, line in lines:
        if line.invoice != invoice:
            yield from pending.values()
            pending, invoice = {}, line.invoice
        if line.stock_code in pending:
            first_number, first = pending[line.stock_code]
            merged = replace(
                first, quantity=first.quantity + line.quantity, revenue=first.revenue + line.revenue
            )
            pending[line.stock_code] = (first_number, merged)
        else:
            pending[line.stock_code] = (number, line)
    yield from pending.values()


SOURCE = "uci-online-retail"
# The two passes over the file, each with its own progress bar.
READING = "Reading (pass 1 of 2)"
IMPORTING = "Importing (pass 2 of 2)"
# Stock given to imported products: the log says what sold, not what is left.
IMPORTED_STOCK = 1_000
BATCH_SIZE = 10_000


@dataclass
class Scan:
    """What the first pass learned: the products, the customers and the guest invoices."""

    products: dict[str, ProductSeen]
    customers: set[str]
    guests: set[str]


def online_retail_import(
    *, path: Path, batch_size: int = BATCH_SIZE, progress: Progress | None = None
) -> ImportReport:
    """Import the file (see the module's docstring); safe to run again, and to interrupt: a
    batch is written whole or not at all, and a re-run adds only what is missing."""
    report = ImportReport()
    scan = _scan(path, report, progress)
    with transaction.atomic():
        product_ids = _catalog_write(scan, report)
        visitor_ids = _visitors_write(scan, report)
    lines = (
        (number, line)
        for number, row in _rows(path)
        if isinstance(line := classify(row), PurchaseLine)
    )
    batch: list[ImportedEvent] = []
    done = 0
    for number, line in invoice_lines(lines):
        batch.append(_event(line, product_ids, visitor_ids))
        if len(batch) >= batch_size:
            events_write(batch, report)
            batch = []
        done = number
        if progress is not None and done % 5_000 == 0:
            progress(done, phase=IMPORTING, total=report.rows_read)
    events_write(batch, report)
    if progress is not None:
        progress(report.rows_read, phase=IMPORTING, total=report.rows_read)
    transaction.on_commit(lambda: events_imported.send(sender=Event))
    return report


def _scan(path: Path, report: ImportReport, progress: Progress | None) -> Scan:
    scan = Scan(products={}, customers=set(), guests=set())
    for number, row in _rows(path):
        report.rows_read += 1
        if progress is not None and number % 5_000 == 0:
            progress(number, phase=READING)
        line = classify(row)
        if isinstance(line, Skip):
            report.skip(line, number)
            continue
        seen = scan.products.get(line.stock_code)
        if seen is None:
            seen = scan.products[line.stock_code] = ProductSeen(
                Counter(), line.unit_price, line.occurred_at
            )
        if line.description:
            seen.descriptions[line.description] += 1
        if line.occurred_at >= seen.last_sold:
            seen.price, seen.last_sold = line.unit_price, line.occurred_at
        (scan.customers if line.customer else scan.guests).add(line.visitor)
    if progress is not None:
        progress(report.rows_read, phase=READING, total=report.rows_read)
    return scan


def _product_ids(codes: list[str]) -> dict[str, int]:
    rows = Product.objects.filter(external_id__in=codes).values_list("external_id", "id")
    return {code: pk for code, pk in rows if code is not None}


def _catalog_write(scan: Scan, report: ImportReport) -> dict[str, int]:
    """Create the derived categories and the products not imported yet; every product's id."""
    codes = sorted(scan.products)
    existing = _product_ids(codes)
    new = [code for code in codes if code not in existing]
    if new:
        names = [readable_name(scan.products[c].description, c) for c in codes]
        derived = dict(zip(codes, derive_categories(names), strict=True))
        categories = _categories_write({derived[c] for c in new}, report)
        Product.objects.bulk_create(
            [_product(code, scan.products[code], categories[derived[code]]) for code in new],
            batch_size=2_000,
            ignore_conflicts=True,
        )
        report.created["products"] += len(new)
        existing = _product_ids(codes)
    return existing


def _categories_write(
    wanted: set[DerivedCategory], report: ImportReport
) -> dict[DerivedCategory, int]:
    """The derived categories (top level, then sub-levels under them); each one's id."""
    ids = {top: _category(top, None, report) for top in sorted({c.top for c in wanted})}
    for sub, top in sorted({(c.sub, c.top) for c in wanted if c.sub is not None}):
        ids[sub] = _category(sub, ids[top], report)
    return {c: ids[c.sub or c.top] for c in wanted}


def _category(name: str, parent: int | None, report: ImportReport) -> int:
    category, created = Category.objects.get_or_create(
        slug=slugify(name), defaults={"name": name, "parent_id": parent}
    )
    report.created["categories"] += created
    return category.pk


def _product(code: str, seen: ProductSeen, category_id: int) -> Product:
    name = readable_name(seen.description, code)
    return Product(
        external_id=code,
        name=name,
        slug=slugify(name)[:255] or slugify(code),
        price=seen.price,
        category_id=category_id,
        stock=IMPORTED_STOCK,
        image_url=placeholder_url(theme=slugify(name.split()[-1]) or "product", key=slugify(code)),
        metadata={"source": SOURCE, "description": seen.description},
    )


def _visitors_write(scan: Scan, report: ImportReport) -> dict[str, int]:
    wanted = scan.customers | scan.guests
    known = set(
        Visitor.objects.filter(external_id__in=wanted).values_list("external_id", flat=True)
    )
    Visitor.objects.bulk_create(
        [
            Visitor(external_id=external_id, is_anonymous=external_id in scan.guests)
            for external_id in sorted(wanted - known)
        ],
        batch_size=5_000,
        ignore_conflicts=True,
    )
    report.created["visitors"] += len(wanted - known)
    return dict(Visitor.objects.filter(external_id__in=wanted).values_list("external_id", "id"))


def _event(
    line: PurchaseLine, product_ids: dict[str, int], visitor_ids: dict[str, int]
) -> ImportedEvent:
    return ImportedEvent(
        event_id=f"uci-{line.invoice}-{line.stock_code}",
        visitor_id=visitor_ids[line.visitor],
        product_id=product_ids[line.stock_code],
        event_type=EventType.PURCHASE,
        occurred_at=line.occurred_at,
        metadata={
            "invoice": line.invoice,
            "quantity": line.quantity,
            "revenue": f"{line.revenue:.2f}",
            "country": line.country,
        },
    )
