"""Cache keys of the recommender, invalidated by generation rather than by key patterns.

Every key of a family carries the family's generation number; a pipeline run bumps the
generation, so all of the family's old entries stop being read at once (and expire by TTL),
on any cache backend, without scanning Redis for keys.
"""

from __future__ import annotations

import time

from django.core.cache import cache

TRENDING = "trending"
SIMILARITY = "sim"
RECOMMENDATIONS = "rec"


def _generation_key(family: str) -> str:
    return f"generation:{family}"


def generation(family: str) -> int:
    return int(cache.get_or_set(_generation_key(family), time.time_ns, timeout=None) or 0)


def generation_bump(family: str) -> None:
    try:
        cache.incr(_generation_key(family))
    except ValueError:
        # Never set, or evicted. A fresh clock reading is larger than any earlier generation
        # (those were clock readings plus a few increments), so no old key is read again.
        cache.set(_generation_key(family), time.time_ns(), timeout=None)


def key(family: str, *parts: object) -> str:
    """e.g. key(TRENDING, "7d", category_id) -> "trending:g3:7d:12"."""
    return ":".join([family, f"g{generation(family)}", *(str(part) for part in parts)])
