"""The few pieces of hand-written SQL that differ between PostgreSQL and SQLite, in one place.

Hot or bulk reads are plain SQL in selectors (no ORM compilation per call, COPY for millions
of rows); these helpers keep them portable to the zero-configuration store.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import DateTimeField


def table(model: Any) -> str:
    """The model's table name, quoted."""
    return connection.ops.quote_name(model._meta.db_table)


def epoch_seconds(column: str) -> str:
    """A timestamp column as Unix seconds, computed by the database: Django's time-zone-aware
    datetime loader costs more per row than reading the rest of a row."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})"
    # Julian day 2440587.5 is 1970-01-01T00:00:00Z.
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def in_ids(column: str, parameter: str) -> str:
    """`column` is one of the ids (or other values) of the named parameter (pass its value
    through id_list)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%({parameter})s)"
    return f"{column} IN (SELECT value FROM json_each(%({parameter})s))"  # noqa: S608


def id_list(ids: list[int] | list[str]) -> list[int] | list[str] | str:
    """Ids (or other values) as one SQL parameter: an array on PostgreSQL, a JSON array
    elsewhere."""
    return ids if connection.vendor == "postgresql" else json.dumps(ids)


def moment(value: datetime) -> Any:
    """A datetime as the database compares it with a DateTimeField's column (Django's own
    conversion: UTC text on SQLite)."""
    return DateTimeField().get_db_prep_value(value, connection)
