"""Redis writes a request need not wait for, sent together in one round trip as it ends.

A request that computes a list on a cache miss stores it and records it as shown: two writes
whose answers nobody reads. Inside `writes_batched()` (RedisWritesMiddleware opens it around
every request) each `redis_write()` waits and all of them go in one pipeline when the block
ends, before the response leaves, so the client never sees an answer whose writes are not
done. Outside such a block (tasks, commands, the shell) a write goes at once.

If Redis cannot take them, each write's `on_failure` runs: a buffered item is then written
to the database by its owner, a cached answer is only logged as not stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from redis.exceptions import RedisError

from infrastructure.redis_client import redis_connection

logger = logging.getLogger("shopsmart.cache")


@dataclass(frozen=True)
class _Write:
    # Adds the write's commands to a pipeline.
    commands: Callable[[Any], None]
    on_failure: Callable[[], None]


# The writes waiting for the end of the enclosing block (None: no block, write at once).
_waiting: ContextVar[list[_Write] | None] = ContextVar("redis_writes_waiting", default=None)


def redis_write(commands: Callable[[Any], None], *, on_failure: Callable[[], None]) -> None:
    """Send the commands (added to a pipeline of the raw Redis connection) with the enclosing
    block's other writes, or now outside a block; `on_failure` runs if Redis cannot take them.
    Only for writes whose replies nobody reads."""
    write = _Write(commands, on_failure)
    waiting = _waiting.get()
    if waiting is None:
        _send([write])
    else:
        waiting.append(write)


@contextmanager
def writes_batched() -> Iterator[None]:
    """Hold the block's Redis writes and send them in one round trip as it ends (also when it
    raises: what was computed and shown before the failure is still stored and recorded)."""
    token = _waiting.set([])
    try:
        yield
    finally:
        waiting = _waiting.get() or []
        _waiting.reset(token)
        if waiting:
            _send(waiting)


def _send(writes: list[_Write]) -> None:
    connection = redis_connection()
    try:
        if connection is None:
            raise RedisError("no Redis behind the cache")
        pipeline = connection.pipeline(transaction=False)
        for write in writes:
            write.commands(pipeline)
        pipeline.execute()
    except (RedisError, OSError):
        logger.warning("Redis writes failed: each falls back", exc_info=True)
        for write in writes:
            write.on_failure()


class RedisWritesMiddleware:
    """Each request's Redis writes in one round trip (see the module's documentation)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with writes_batched():
            return self.get_response(request)
