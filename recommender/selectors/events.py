"""Reads of the store as the arrays the pipelines feed to the algorithms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Max

from catalog.models import Product
from catalog.querysets import browsable_sql
from infrastructure import sql
from infrastructure.bulk import read_frame
from recommender.algorithms.content_similarity import ProductText
from recommender.algorithms.events import EventArrays
from recommender.algorithms.tiered import Catalog
from tracking.models import EVENT_TYPE_CODES, Event, EventType


def event_arrays(
    *, since: datetime, until: datetime, event_types: Sequence[EventType] | None = None
) -> EventArrays:
    """Events with since <= occurred_at < until (of the given types, else all), only the
    columns the algorithms need."""
    codes = list(EVENT_TYPE_CODES.items())
    type_code = " ".join(f"WHEN %(type_{code})s THEN {code}" for _, code in codes)
    params: dict[str, Any] = {f"type_{code}": kind.value for kind, code in codes}
    params |= {"since": sql.moment(since), "until": sql.moment(until)}
    of_types = ""
    if event_types is not None:
        wanted = {f"wanted_{n}": kind.value for n, kind in enumerate(event_types)}
        of_types = f" AND e.event_type IN ({', '.join(f'%({name})s' for name in wanted)})"
        params |= wanted
    query = (
        f"SELECT e.visitor_id, e.product_id, CASE e.event_type {type_code} END, "  # noqa: S608
        f"{sql.epoch_seconds('e.occurred_at')} FROM {sql.table(Event)} e "
        f"WHERE e.occurred_at >= %(since)s AND e.occurred_at < %(until)s{of_types}"
    )
    frame = read_frame(query, params, ["visitor_id", "product_id", "type_code", "seconds"])
    if frame.empty:
        return EventArrays.empty()
    return EventArrays(
        visitor=frame["visitor_id"].to_numpy(dtype=np.int64),
        product=frame["product_id"].to_numpy(dtype=np.int64),
        event_type=frame["type_code"].to_numpy(dtype=np.int8),
        timestamp=frame["seconds"].to_numpy(dtype=np.float64),
    )


def events_end() -> datetime | None:
    """Just after the last event: the end of a test period that takes every event."""
    last: datetime | None = Event.objects.aggregate(last=Max("occurred_at"))["last"]
    return None if last is None else last + timedelta(seconds=1)


def catalog_arrays() -> Catalog:
    """Every product's category and whether it may be recommended (active and in stock)."""
    query = (
        f"SELECT p.id, p.category_id, CASE WHEN {browsable_sql('p')} THEN 1 ELSE 0 END "  # noqa: S608
        f"FROM {sql.table(Product)} p ORDER BY p.id"
    )
    frame = read_frame(query, {}, ["id", "category_id", "available"])
    return Catalog(
        product=frame["id"].to_numpy(dtype=np.int64),
        category=frame["category_id"].to_numpy(dtype=np.int64),
        available=frame["available"].to_numpy() == 1,
    )


def product_texts() -> tuple[np.ndarray, list[ProductText]]:
    """Ascending product ids and what each product says about itself."""
    rows = Product.objects.order_by("id").values_list("id", "name", "description", "category__name")
    ids = []
    texts = []
    for product_id, name, description, category in rows.iterator(chunk_size=10_000):
        ids.append(product_id)
        texts.append(ProductText(name=name, description=description, category=category))
    return np.array(ids, dtype=np.int64), texts


def product_categories(product_ids: np.ndarray) -> np.ndarray:
    """Each product's category id, read in one go (a product always has a category)."""
    query = f"SELECT p.id, p.category_id FROM {sql.table(Product)} p"  # noqa: S608
    categories = read_frame(query, {}, ["id", "category_id"]).set_index("id")
    return categories["category_id"].reindex(product_ids).to_numpy(dtype=np.int64)
