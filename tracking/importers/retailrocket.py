"""Import an event log in the RetailRocket format: `timestamp,visitorid,event,itemid,
transactionid`, timestamps in milliseconds since 1970 (UTC), events view / addtocart /
transaction.

An itemid is a product's external_id: the catalog comes first (import_catalog); events of
unknown products are skipped and counted. A visitorid is an anonymous visitor, created when new.
Each event's id is a digest of its fields, so importing the file again adds nothing. Rows are
streamed and written in batches, each in one transaction.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from django.db import transaction

from catalog.models import Product
from infrastructure.imports import NUL_BYTE, ImportReport, Progress, csv_rows, has_nul_byte
from tracking.importers.events import ImportedEvent, events_write
from tracking.models import Event, EventType, Visitor
from tracking.services import visitor_ids_get_or_create
from tracking.signals import events_imported

COLUMNS = ("timestamp", "visitorid", "event", "itemid", "transactionid")
EVENT_TYPES = {
    "view": EventType.VIEW,
    "addtocart": EventType.ADD_TO_CART,
    "transaction": EventType.PURCHASE,
}
BATCH_SIZE = 10_000
# Timestamps outside 2000-2100 are errors in the file, not events.
EARLIEST_MS, LATEST_MS = 946_684_800_000, 4_102_444_800_000


def retailrocket_import(
    *, path: Path, batch_size: int = BATCH_SIZE, progress: Progress | None = None
) -> ImportReport:
    report = ImportReport()
    products: dict[str, int | None] = {}
    pending: list[tuple[int, dict[str, str]]] = []
    for number, row in csv_rows(path, kind="a RetailRocket event log", columns=COLUMNS):
        report.rows_read += 1
        pending.append((number, row))
        if len(pending) >= batch_size:
            _batch_write(pending, products, report)
            pending = []
        if progress is not None and number % 10_000 == 0:
            progress(number)
    _batch_write(pending, products, report)
    transaction.on_commit(lambda: events_imported.send(sender=Event))
    return report


def _batch_write(
    rows: list[tuple[int, dict[str, str]]], products: dict[str, int | None], report: ImportReport
) -> None:
    unknown = {row["itemid"] for _, row in rows} - products.keys()
    if unknown:
        found = dict(
            Product.objects.filter(external_id__in=unknown).values_list("external_id", "id")
        )
        products |= {item: found.get(item) for item in unknown}
    readable: list[tuple[dict[str, str], int]] = []
    for number, row in rows:
        problem = _problem(row, products)
        product_id = products.get(row["itemid"])
        if problem or product_id is None:
            report.skip(problem or "product_unknown", number)
        else:
            readable.append((row, product_id))
    wanted = {row["visitorid"] for row, _ in readable}
    known = set(
        Visitor.objects.filter(external_id__in=wanted).values_list("external_id", flat=True)
    )
    visitors = visitor_ids_get_or_create(external_ids=sorted(wanted))
    report.created["visitors"] += len(wanted - known)
    events_write([_event(row, product_id, visitors) for row, product_id in readable], report)


def _problem(row: dict[str, str], products: dict[str, int | None]) -> str | None:
    if has_nul_byte(row):
        return NUL_BYTE
    if row["event"] not in EVENT_TYPES:
        return "event_type_unknown"
    if not row["timestamp"].isdecimal() or not EARLIEST_MS <= int(row["timestamp"]) < LATEST_MS:
        return "timestamp_unreadable"
    if not row["visitorid"] or len(row["visitorid"]) > 64:
        return "visitor_missing_or_too_long"
    if products.get(row["itemid"]) is None:
        return "product_unknown"
    return None


def _event(row: dict[str, str], product_id: int, visitors: dict[str, int]) -> ImportedEvent:
    fields = "|".join((row["visitorid"], row["itemid"], row["event"], row["timestamp"]))
    metadata = {"transaction": row["transactionid"]} if row["transactionid"] else {}
    return ImportedEvent(
        # The same row always gives the same id (and visitor ids may be long): a digest.
        event_id="rr-" + hashlib.sha256(fields.encode()).hexdigest()[:40],
        visitor_id=visitors[row["visitorid"]],
        product_id=product_id,
        event_type=EVENT_TYPES[row["event"]],
        occurred_at=datetime.fromtimestamp(int(row["timestamp"]) / 1000, tz=UTC),
        metadata=metadata,
    )
