"""Hot reads compiled to SQL once per process instead of once per call.

Turning a QuerySet into SQL costs Django about a millisecond for a join with a subquery, more
than PostgreSQL takes to answer it, and a recommendation computed on a cache miss makes three
such small reads. A `CompiledRead` builds its QuerySet once with stand-in values for the
parameters that change from call to call, finds where those values went in the compiled
parameters, and from then on runs the same SQL with the real values substituted.

Only reads that return plain rows (`values_list`) fit, and only on PostgreSQL, whose driver
returns the Python types Django would (aware datetimes, Decimal); elsewhere, or when a
stand-in cannot be found as it is among the compiled parameters (a lookup that expands a
list into one placeholder per value, for instance) or is found transformed (into a LIKE
pattern, say), every call runs the QuerySet itself.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from django.db import connection
from django.db.models import QuerySet

# Stand-ins no caller passes: negative ids and a string no external id takes.
_STAND_IN_ID = -7_919_000_001


def _stand_in(name: str, number: int, example: object) -> object:
    """A value for the `number`th parameter that no other parameter's stand-in equals."""
    if isinstance(example, str):
        return f"\x00stand-in:{name}"
    if isinstance(example, list):
        return [_STAND_IN_ID - number]
    raise TypeError(f"{name}: only str and list[int] parameters can be substituted")


class CompiledRead:
    """`build(**params, **fixed)` compiled once per set of `fixed` values (which may shape the
    SQL, such as a LIMIT), then run with any `params` (which must only be compared with)."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *, params: tuple[str, ...]) -> None:
        self._build = build
        self._params = params
        # fixed values -> (sql, compiled parameters, the call parameter at each position or
        # None to keep the compiled one), or None when the read cannot be substituted.
        self._compiled: dict[Hashable, tuple[str, list[Any], list[str | None]] | None] = {}

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        params = {name: values.pop(name) for name in self._params}
        if connection.vendor != "postgresql":
            return list(self._build(**params, **values))
        fixed = tuple(sorted(values.items()))
        if fixed not in self._compiled:
            self._compiled[fixed] = self._compile(params, values)
        compiled = self._compiled[fixed]
        if compiled is None:
            return list(self._build(**params, **values))
        sql, defaults, sources = compiled
        arguments = [
            default if source is None else params[source]
            for default, source in zip(defaults, sources, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, arguments)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows

    def _compile(
        self, params: dict[str, Any], fixed: dict[str, Any]
    ) -> tuple[str, list[Any], list[str | None]] | None:
        stand_ins = {
            name: _stand_in(name, number, value)
            for number, (name, value) in enumerate(params.items())
        }
        queryset = self._build(**stand_ins, **fixed)
        sql, compiled = queryset.query.sql_with_params()
        defaults = list(compiled)
        sources: list[str | None] = [None] * len(defaults)
        for name, stand_in in stand_ins.items():
            positions = [i for i, value in enumerate(defaults) if value == stand_in]
            if not positions:
                return None
            for position in positions:
                sources[position] = name
        # A stand-in also found transformed (a LIKE pattern made of it, say) would be sent as
        # it is: such a read is not substitutable.
        kept = [value for value, source in zip(defaults, sources, strict=True) if source is None]
        if any(_mentions(value, stand_in) for value in kept for stand_in in stand_ins.values()):
            return None
        return sql, defaults, sources


def _mentions(value: object, stand_in: object) -> bool:
    if isinstance(stand_in, str):
        return isinstance(value, str) and stand_in in value
    return isinstance(value, list | tuple) and any(item in value for item in stand_in)  # type: ignore[attr-defined]
