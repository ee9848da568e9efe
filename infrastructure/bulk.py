"""Fast bulk inserts: pandas frames by COPY, a request's rows column by column.

Used by the demo loader, the importers and event ingestion, where the ORM's bulk_create would
spend most of its time building model instances and preparing each value.
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, Literal

import numpy as np
import pandas as pd
import psycopg
from django.db import connection, transaction
from django.db.models import Field, JSONField, Model

SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
COPY_NULL = r"\N"


def insert_frame(target: type[Model] | str, frame: pd.DataFrame) -> int:
    """Insert every row of frame (columns named as the db columns); return the count."""
    return insert_frames(target, [frame])


def insert_frames(target: type[Model] | str, frames: Iterable[pd.DataFrame]) -> int:
    """Insert frames with the same columns as they come, in one COPY on PostgreSQL.

    The target is a model's table or a table by name (as table_rebuilt yields). Frames may be
    produced while earlier ones are being written: the database inserts them in its own process
    while the caller computes the next one.
    """
    table = connection.ops.quote_name(target if isinstance(target, str) else target._meta.db_table)
    written = 0
    with connection.cursor() as cursor, ExitStack() as stack:
        copy = None
        binary = False
        for frame in frames:
            if frame.empty:
                continue
            columns = ", ".join(connection.ops.quote_name(column) for column in frame.columns)
            if connection.vendor == "postgresql":
                if copy is None:
                    binary = _binary_ready(frame)
                    types = _column_types(cursor, table, list(frame.columns)) if binary else []
                    options = "FORMAT binary" if binary else f"FORMAT csv, NULL '{COPY_NULL}'"
                    # COPY through psycopg 3: the cursor under Django's wrapper.
                    copy = stack.enter_context(
                        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH ({options})")
                    )
                    if binary:
                        copy.set_types(types)
                if binary:
                    values = [_python_values(frame[column]) for column in frame.columns]
                    for row in zip(*values, strict=True):
                        copy.write_row(row)
                else:
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


def insert_columns(
    model: type[Model],
    columns: Mapping[str, Sequence[Any]],
    *,
    skip_conflicts_on: str,
) -> list[Any]:
    """Insert rows given column by column (model field names to equally long lists of Python
    values), skipping a row whose `skip_conflicts_on` value (a unique column) is stored
    already or earlier in the rows. Returns that column's values of the rows inserted."""
    return list(inserted_keys(model, columns, skip_conflicts_on=skip_conflicts_on))


def inserted_keys(
    model: type[Model],
    columns: Mapping[str, Sequence[Any]],
    *,
    skip_conflicts_on: str,
) -> dict[Any, int]:
    """insert_columns, returning the rows inserted as their `skip_conflicts_on` value to their
    primary key, in the order of the rows.

    On PostgreSQL this is one statement whatever the number of rows: one array per column,
    zipped back into rows by unnest(), so neither Django nor the server handles a parameter
    per value (a 500-row bulk_create of events sent 5,500 of them, and preparing each was a
    third of the request). Elsewhere (the zero-configuration SQLite store) each value goes
    through its field's own preparation and the rows through executemany.
    """
    fields = [concrete_field(model, name) for name in columns]
    count = len(next(iter(columns.values()), []))
    if any(len(values) != count for values in columns.values()):
        raise ValueError("Every column needs a value for every row.")
    if count == 0:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Arrays sent in binary, where the server reads each element as it is: as text,
            # it parses every element's literal, and 500 rows' insert took 16 ms, not 10.
            # Only with parameters bound on the server (psycopg's client-side cursor, used
            # behind a PgBouncer in transaction mode, binds text only).
            binary = not isinstance(cursor.cursor, psycopg.ClientCursor)
            values = [
                _json_texts(field, values) if isinstance(field, JSONField) else list(values)
                for field, values in zip(fields, columns.values(), strict=True)
            ]
            if count == 1:
                # A row of values: dumping a one-element array per column cost the single
                # event's insert twice the Python of the row itself.
                statement = _insert(model, tuple(columns), skip_conflicts_on, rows="values")
                cursor.execute(statement, [column[0] for column in values])
            else:
                rows = "binary arrays" if binary else "arrays"
                statement = _insert(model, tuple(columns), skip_conflicts_on, rows=rows)
                cursor.execute(statement, values)
            return dict(cursor.fetchall())
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(field.column) for field in fields)
    key = quote(concrete_field(model, skip_conflicts_on).column)
    keys = list(columns[skip_conflicts_on])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {key} FROM {table} WHERE {key} IN (SELECT value FROM json_each(%s))",  # noqa: S608
            [json.dumps(keys)],
        )
        stored = {value for (value,) in cursor.fetchall()}
        prepared = [
            [field.get_db_prep_save(value, connection) for value in values]
            for field, values in zip(fields, columns.values(), strict=True)
        ]
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({placeholders}) "  # noqa: S608
            f"ON CONFLICT ({key}) DO NOTHING",
            list(zip(*prepared, strict=True)),
        )
        inserted, seen = [], set(stored)
        for value in keys:
            if value not in seen:
                seen.add(value)
                inserted.append(value)
        pk = quote(model._meta.pk.column)
        cursor.execute(
            f"SELECT {key}, {pk} FROM {table} "  # noqa: S608
            f"WHERE {key} IN (SELECT value FROM json_each(%s))",
            [json.dumps(inserted)],
        )
        ids = dict(cursor.fetchall())
    return {value: ids[value] for value in inserted}


@functools.cache
def _insert(
    model: type[Model],
    names: tuple[str, ...],
    skip_conflicts_on: str,
    *,
    rows: Literal["values", "arrays", "binary arrays"],
) -> str:
    """insert_columns' statement on PostgreSQL, made once per process (asking each field for
    its column type was a twentieth of a single event's request): one row of values, or the
    rows as one array per column, as text or binary parameters."""
    fields = [concrete_field(model, name) for name in names]
    quote = connection.ops.quote_name
    if rows == "values":
        source = "VALUES ({})".format(
            ", ".join(f"%s::{field.db_type(connection)}" for field in fields)
        )
    else:
        placeholder = "%b" if rows == "binary arrays" else "%s"
        arrays = ", ".join(f"{placeholder}::{field.db_type(connection)}[]" for field in fields)
        # Only quoted identifiers and column types from the model are formatted in.
        source = f"SELECT * FROM unnest({arrays})"  # noqa: S608
    key = quote(concrete_field(model, skip_conflicts_on).column)
    return (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(field.column) for field in fields)}) {source} "
        f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}, {quote(model._meta.pk.column)}"
    )


def concrete_field(model: type[Model], name: str) -> Field[Any, Any]:
    """The model's field of this name, which must be a column of its table."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.concrete:
        raise ValueError(f"{name} is not a column of {model.__name__}.")
    return field


def _json_texts(field: JSONField[Any], values: Sequence[Any]) -> list[str | None]:
    """JSON values as text for a jsonb[] array (cast element by element by the server)."""
    return [None if v is None else json.dumps(v, cls=field.encoder) for v in values]


def _binary_ready(frame: pd.DataFrame) -> bool:
    """Numbers and time-zone-aware timestamps only (the pipelines' result rows): sent in
    PostgreSQL's binary format, each value as it is, where pandas formatting them as CSV text
    (and the server parsing it) cost most of writing 487,603 similarity rows (1.6 s of 2)."""
    return all(
        pd.api.types.is_numeric_dtype(dtype) or isinstance(dtype, pd.DatetimeTZDtype)
        for dtype in frame.dtypes
    )


def _column_types(cursor: Any, table: str, columns: list[str]) -> list[int]:
    """The type oids of the table's columns, in the given order (binary COPY needs them)."""
    cursor.execute(
        "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
        "AND attnum > 0 AND NOT attisdropped",
        [table],
    )
    types = dict(cursor.fetchall())
    return [int(types[column]) for column in columns]


def _python_values(column: pd.Series) -> list[Any]:
    """A column's values as Python objects, missing ones (NaN, NaT, None) as None (NULL)."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        values: list[Any] = list(column.dt.to_pydatetime())
    elif column.dtype == np.float32:
        # As CSV stored it: the shortest decimal that reads back as the same float32, not
        # its exact binary widening (the cosine neighbours' scores are float32).
        values = column.to_numpy().astype(str).astype(np.float64).tolist()
    else:
        values = column.to_numpy(dtype=object).tolist()
    missing = column.isna().to_numpy()
    if missing.any():
        for position in np.flatnonzero(missing):
            values[position] = None
    return values


def read_frame(sql: str, params: dict[str, Any], columns: list[str]) -> pd.DataFrame:
    """The rows of a plain SQL read as a frame with the given column names: COPY ... TO STDOUT
    on PostgreSQL, much faster than building a Python tuple per row for millions of rows."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    buffer = io.BytesIO()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    if buffer.getbuffer().nbytes == 0:
        return _empty_frame(columns)
    return pd.read_csv(buffer, header=None, names=columns)


def _empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in columns})


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


@contextmanager
def table_rebuilt(model: type[Model]) -> Iterator[str]:
    """Replace every row of model's table by the rows the caller writes into the yielded table.

    For derived tables that a pipeline rebuilds whole. On PostgreSQL the caller fills a new,
    index-free copy of the table; on exit its indexes and constraints are built in one pass
    each, it is analysed and renamed into place, and the old table is dropped whole: no
    deleted rows for vacuum, no index updated row by row, and readers see the old rows until
    the commit, then the new ones. Elsewhere the rows are deleted and the table itself is
    yielded. Either way it all happens in one transaction: an error leaves the old rows.
    """
    live = model._meta.db_table
    with transaction.atomic():
        if connection.vendor != "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(live)}")  # noqa: S608
            yield live
            return
        fresh = f"{live}__rebuilt"
        with connection.cursor() as cursor:
            _refuse_referenced(cursor, live)
            cursor.execute(
                f'CREATE TABLE "{fresh}" (LIKE "{live}" INCLUDING DEFAULTS INCLUDING IDENTITY '
                "INCLUDING CONSTRAINTS INCLUDING STORAGE)"
            )
        yield fresh
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # Django's foreign keys are deferred; run pending checks now, as PostgreSQL alters
            # no table that has pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            renames = _indexes_and_keys_copied(cursor, live, fresh)
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute(f'ANALYZE "{fresh}"')
            sequence = _identity_sequence(cursor, live, model._meta.pk.column)
            cursor.execute(f'DROP TABLE "{live}"')
            cursor.execute(f'ALTER TABLE "{fresh}" RENAME TO "{live}"')
            for temporary, name in renames:
                # Renaming an index that backs a constraint renames the constraint too.
                cursor.execute(f'ALTER INDEX "{temporary}" RENAME TO "{name}"')
            if sequence:
                new_sequence = _identity_sequence(cursor, live, model._meta.pk.column)
                cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {sequence.split('.')[-1]}")


def _refuse_referenced(cursor: Any, table: str) -> None:
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND confrelid = %s::regclass",
        [table],
    )
    if referencing := [name for (name,) in cursor.fetchall()]:
        raise ValueError(
            f"{table} cannot be rebuilt by a rename: foreign keys refer to it ({referencing})."
        )


def _indexes_and_keys_copied(cursor: Any, live: str, fresh: str) -> list[tuple[str, str]]:
    """Build live's indexes, keys and foreign keys on fresh under temporary names.

    Returns (temporary, final) index names to rename once live is gone. CHECK and NOT NULL
    constraints came with CREATE TABLE ... LIKE.
    """
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname",
        [live],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT index.relname, pg_get_indexdef(index.oid) FROM pg_index "
        "JOIN pg_class index ON index.oid = pg_index.indexrelid "
        "WHERE pg_index.indrelid = %s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint WHERE conindid = index.oid) ORDER BY index.relname",
        [live],
    )
    plain_indexes = cursor.fetchall()
    renames = []
    for number, (name, definition, kind) in enumerate(constraints):
        temporary = f"{fresh}_c{number}"
        # A foreign key's name is its table's own and may stay; an index-backed key's name is
        # its index's, unique in the schema, so it takes the final name after the swap.
        cursor.execute(
            f'ALTER TABLE "{fresh}" ADD CONSTRAINT "{name if kind == "f" else temporary}" '
            f"{definition}"
        )
        if kind != "f":
            renames.append((temporary, name))
    for number, (name, definition) in enumerate(plain_indexes):
        temporary = f"{fresh}_i{number}"
        match = re.fullmatch(r"CREATE (UNIQUE )?INDEX \S+ ON \S+ (USING .*)", definition)
        if match is None:
            raise ValueError(f"Unexpected index definition: {definition}")
        cursor.execute(
            f'CREATE {match.group(1) or ""}INDEX "{temporary}" ON "{fresh}" {match.group(2)}'
        )
        renames.append((temporary, name))
    return renames


def _identity_sequence(cursor: Any, table: str, column: str) -> str | None:
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [f'"{table}"', column])
    sequence: str | None = cursor.fetchone()[0]
    return sequence


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


def tables_emptied(models: Sequence[type[Model]]) -> None:
    """Delete every row of the models' tables (children before parents): one TRUNCATE on
    PostgreSQL, a DELETE per table elsewhere."""
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        return
    for model in models:
        model._default_manager.all().delete()
