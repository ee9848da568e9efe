"""Cache keys of the recommender, invalidated by generation rather than by key patterns.

Every key of a family carries the family's generation number (and those of the families its
value is computed from, and of its scope, such as one visitor); a pipeline run bumps its
family's generation, an event bumps its visitor's, so all the old entries stop being read at
once (and expire by TTL), on any cache backend, without scanning Redis for keys.

The cache only speeds answers up: with Redis down every read misses (django-redis logs the
error, see settings), the caller computes the answer from the database, and nothing is raised.
Hits and misses are counted per family for the dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TypeVar

from django.core.cache import cache

TRENDING = "trending"
SIMILARITY = "sim"
RECOMMENDATIONS = "rec"
FAMILIES = (RECOMMENDATIONS, SIMILARITY, TRENDING)

T = TypeVar("T")


def _generation_key(family: str, scope: object = None) -> str:
    return f"generation:{family}" if scope is None else f"generation:{family}:{scope}"


def generation(family: str) -> int:
    return _generations([_generation_key(family)])[0]


def generation_bump(family: str, scope: object = None) -> None:
    """Invalidate every key of the family (or only those of one scope, such as a visitor)."""
    name = _generation_key(family, scope)
    try:
        bumped = cache.incr(name)
    except ValueError:
        bumped = None  # never set, or evicted
    if bumped is None:
        # A fresh clock reading is larger than any earlier generation (those were clock
        # readings plus a few increments), so no old key is read again.
        cache.set(name, time.time_ns(), timeout=None)


def key(family: str, *parts: object, depends_on: Sequence[str] = (), scope: object = None) -> str:
    """e.g. key(REC, 10, depends_on=[TRENDING], scope="v1") -> "rec:v1:g3.7.2:10".

    All the generations it carries are read in one round trip.
    """
    names = [_generation_key(f) for f in (family, *depends_on)]
    if scope is not None:
        names.append(_generation_key(family, scope))
    generations = ".".join(str(g) for g in _generations(names))
    head = [family] if scope is None else [family, str(scope)]
    return ":".join([*head, f"g{generations}", *(str(part) for part in parts)])


def cached(family: str, cache_key: str, timeout: int, compute: Callable[[], T]) -> T:
    """The cached value of the key, or compute it, store it for `timeout` s and return it."""
    value: T | None = cache.get(cache_key)
    if value is not None:
        _count(family, "hits")
        return value
    _count(family, "misses")
    value = compute()
    cache.set(cache_key, value, timeout=timeout)
    return value


def flush() -> None:
    """Invalidate every family at once (the staff's "flush caches")."""
    for family in FAMILIES:
        generation_bump(family)


def statistics() -> dict[str, dict[str, int]]:
    """Hits and misses of each family since the counters were first written."""
    names = [_counter_key(family, event) for family in FAMILIES for event in ("hits", "misses")]
    found = cache.get_many(names) or {}
    return {
        family: {
            event: int(found.get(_counter_key(family, event), 0)) for event in ("hits", "misses")
        }
        for family in FAMILIES
    }


def _counter_key(family: str, event: str) -> str:
    return f"stats:{family}:{event}"


def _count(family: str, event: str) -> None:
    name = _counter_key(family, event)
    try:
        cache.incr(name)
    except ValueError:
        cache.add(name, 0, timeout=None)
        with suppress(ValueError):  # evicted again at once: one lost count
            cache.incr(name)


def _generations(names: list[str]) -> list[int]:
    found = cache.get_many(names) or {}
    missing = [name for name in names if name not in found]
    for name in missing:
        # Start at a clock reading (see generation_bump); add() keeps a concurrent writer's.
        cache.add(name, time.time_ns(), timeout=None)
    if missing:
        found |= cache.get_many(missing) or {}
    # With the cache down nothing is stored and nothing is read: generation 0, every read misses.
    return [int(found.get(name, 0)) for name in names]
