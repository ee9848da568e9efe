"""A write buffer in Redis: requests append what they record without waiting on the
database, and a frequent task drains it into the database in batches.

`buffer_push` appends to `<name>:pending`. `buffer_drain` (one drain at a time, under a Redis
lock) first hands on a batch that a drain which died left in `<name>:draining`; then renames
`pending` to `draining` (atomic: later pushes start a new pending list), hands it to the
handler in chunks, and deletes it only once every chunk is handled. Every item is handled at
least once, never lost to a worker dying mid-drain, so handlers must be idempotent.

Without Redis (the zero-configuration store), or with Redis unreachable, `buffer_push` calls
back and the caller writes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.cache import cache

from infrastructure.redis_client import redis_connection
from infrastructure.writes import redis_write

CHUNK = 5_000
# A drain still running after this many seconds has died; another may take over.
LOCK_SECONDS = 240


def _connection() -> Any:
    return redis_connection()


def _key(name: str, part: str) -> str:
    return str(cache.make_key(f"buffer:{name}:{part}"))


def buffer_push(name: str, items: Sequence[str], *, unbuffered: Callable[[], None]) -> None:
    """Append the items (serialised) to the buffer, with the request's other Redis writes
    (infrastructure.writes); where there is no buffer to take them, or Redis fails to,
    `unbuffered` runs instead (the caller writes them itself)."""
    connection = _connection()
    if connection is None:
        unbuffered()
        return
    key = _key(name, "pending")
    redis_write([("RPUSH", key, *items)], on_failure=unbuffered)


def buffer_length(name: str) -> int:
    """Items waiting (pending and being drained); 0 without a buffer."""
    connection = _connection()
    if connection is None:
        return 0
    return int(connection.llen(_key(name, "pending")) + connection.llen(_key(name, "draining")))


def buffer_drain(name: str, handle: Callable[[list[bytes]], None]) -> int:
    """Hand every buffered item to `handle`, a chunk at a time; returns how many. 0 when
    another drain holds the lock or there is no buffer."""
    connection = _connection()
    if connection is None:
        return 0
    lock = connection.lock(_key(name, "lock"), timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        return 0
    try:
        pending, draining = _key(name, "pending"), _key(name, "draining")
        handled = _drain_list(connection, draining, handle)
        if connection.exists(pending) and connection.renamenx(pending, draining):
            handled += _drain_list(connection, draining, handle)
        return handled
    finally:
        lock.release()


def _drain_list(connection: Any, key: str, handle: Callable[[list[bytes]], None]) -> int:
    total = int(connection.llen(key))
    for start in range(0, total, CHUNK):
        handle(list(connection.lrange(key, start, start + CHUNK - 1)))
    connection.delete(key)
    return total
