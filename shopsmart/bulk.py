"""Fast bulk inserts of pandas frames: COPY on PostgreSQL, executemany elsewhere.

Used by the demo loader and the importers, where the ORM's bulk_create would spend most of its
time building model instances.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Model, QuerySet

SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
COPY_NULL = r"\N"


def insert_frame(model: type[Model], frame: pd.DataFrame) -> int:
    """Insert every row of frame (columns named as the model's db columns); return the count."""
    return insert_frames(model, [frame])


def insert_frames(model: type[Model], frames: Iterable[pd.DataFrame]) -> int:
    """Insert frames with the same columns as they come, in one COPY on PostgreSQL.

    Frames may be produced while earlier ones are being written: the database inserts them
    in its own process while the caller computes the next one.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    written = 0
    with connection.cursor() as cursor, ExitStack() as stack:
        copy = None
        for frame in frames:
            if frame.empty:
                continue
            columns = ", ".join(connection.ops.quote_name(column) for column in frame.columns)
            if connection.vendor == "postgresql":
                if copy is None:
                    sql = (
                        f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{COPY_NULL}')"
                    )
                    # COPY through psycopg 3: the cursor under Django's wrapper.
                    copy = stack.enter_context(cursor.cursor.copy(sql))
                buffer = io.StringIO()
                # An explicit NULL marker: in CSV an empty field would otherwise mean NULL.
                _copy_ready(frame).to_csv(buffer, header=False, index=False, na_rep=COPY_NULL)
                copy.write(buffer.getvalue())
            else:
                placeholders = ", ".join(["%s"] * len(frame.columns))
                cursor.executemany(
                    # Only quoted identifiers from the model are formatted in; values are bound.
                    f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
                    list(_plain_rows(frame)),
                )
            written += len(frame)
    return written


def read_frame(queryset: QuerySet[Any], columns: list[str]) -> pd.DataFrame:
    """The given columns of a queryset as a frame: COPY ... TO STDOUT on PostgreSQL.

    Much faster than building a Python tuple per row for millions of rows.
    """
    rows = queryset.order_by().values_list(*columns)
    if connection.vendor != "postgresql":
        return pd.DataFrame.from_records(list(rows.iterator(chunk_size=10_000)), columns=columns)
    sql, params = rows.query.sql_with_params()
    buffer = io.BytesIO()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    if buffer.getbuffer().nbytes == 0:
        return pd.DataFrame({column: [] for column in columns})
    return pd.read_csv(buffer, header=None, names=columns)


@contextmanager
def indexes_deferred(model: type[Model]) -> Iterator[None]:
    """Drop the model's Meta.indexes for a bulk load and build them again afterwards.

    Building an index once over millions of rows is several times faster than updating it row
    by row. PostgreSQL only (elsewhere this does nothing), and only inside a transaction, so
    other sessions never see the table without its indexes.
    """
    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("indexes_deferred needs a transaction.")
    indexes = list(model._meta.indexes)
    with connection.schema_editor(atomic=False) as editor:
        for index in indexes:
            editor.remove_index(model, index)
    yield
    with connection.cursor() as cursor:
        # Django's foreign keys are deferred; PostgreSQL builds no index on a table with
        # pending checks, so run them now (and fail here if a row is wrong).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    with connection.schema_editor(atomic=False) as editor:
        for index in indexes:
            editor.add_index(model, index)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _copy_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO 8601 UTC text formatted by NumPy in C: pandas formats datetimes one
    Python object at a time, which is most of the cost of a large COPY."""
    converted = frame
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            if converted is frame:
                converted = frame.copy()
            # A tz-aware column converted to a naive datetime64 holds UTC values.
            values = frame[column].to_numpy(dtype="datetime64[us]")
            text = np.datetime_as_string(values, unit="us", timezone="UTC").astype(object)
            missing = np.isnat(values)
            if missing.any():
                text[missing] = None
            converted[column] = pd.Series(text, index=frame.index, dtype=object)
    return converted


def _plain_rows(frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows as tuples of plain Python values, datetimes as Django's SQLite text form (UTC)."""
    converted = frame.copy()
    for column in converted.columns:
        if isinstance(converted[column].dtype, pd.DatetimeTZDtype):
            converted[column] = (
                converted[column].dt.tz_convert("UTC").dt.strftime(SQLITE_DATETIME_FORMAT)
            )
    # Missing values (pd.NA, NaT, NaN) become SQL NULL.
    converted = converted.astype(object).where(converted.notna(), None)
    rows: Iterator[tuple[Any, ...]] = converted.itertuples(index=False, name=None)
    return rows
