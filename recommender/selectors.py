"""Reads for the recommender: the event arrays the pipelines feed to the algorithms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Case, F, FloatField, Func, IntegerField, Value, When
from django.db.models.sql.compiler import SQLCompiler

from recommender.algorithms.events import EventArrays
from shopsmart.bulk import read_frame
from tracking.models import EVENT_TYPE_CODES, Event


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


def event_arrays(*, since: datetime, until: datetime) -> EventArrays:
    """Events with since <= occurred_at < until, only the columns the algorithms need."""
    events = Event.objects.filter(occurred_at__gte=since, occurred_at__lt=until).annotate(
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
