"""Reads of the store as the arrays the pipelines feed to the algorithms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Case, F, FloatField, Func, IntegerField, Max, Value, When
from django.db.models.sql.compiler import SQLCompiler

from catalog.models import Product
from catalog.querysets import browsable_q
from infrastructure.bulk import read_frame
from recommender.algorithms.content_similarity import ProductText
from recommender.algorithms.events import EventArrays
from recommender.algorithms.tiered import Catalog
from tracking.models import EVENT_TYPE_CODES, Event, EventType


class EpochSeconds(Func):
    """A timestamp as Unix seconds (float), computed by the database rather than in Python."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()

    def as_sqlite(self, compiler: SQLCompiler, connection: Any, **extra: Any) -> Any:
        # Julian day 2440587.5 is 1970-01-01T00:00:00Z.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


def event_arrays(
    *, since: datetime, until: datetime, event_types: Sequence[EventType] | None = None
) -> EventArrays:
    """Events with since <= occurred_at < until (of the given types, else all), only the
    columns the algorithms need."""
    events = Event.objects.filter(occurred_at__gte=since, occurred_at__lt=until)
    if event_types is not None:
        events = events.filter(event_type__in=event_types)
    events = events.annotate(
        type_code=Case(
            *(When(event_type=kind, then=Value(code)) for kind, code in EVENT_TYPE_CODES.items()),
            output_field=IntegerField(),
        ),
        seconds=EpochSeconds(F("occurred_at")),
    )
    frame = read_frame(events, ["visitor_id", "product_id", "type_code", "seconds"])
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
    annotated = Product.objects.annotate(
        available=Case(
            When(browsable_q(), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )
    frame = read_frame(annotated, ["id", "category_id", "available"]).sort_values("id")
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
    categories = read_frame(Product.objects.all(), ["id", "category_id"]).set_index("id")
    return categories["category_id"].reindex(product_ids).to_numpy(dtype=np.int64)
