"""Redis writes a request need not wait for, sent together in one round trip as it ends.

A request that computes a list on a cache miss stores it and records it as shown: two writes
whose answers nobody reads. Inside a request (RedisWritesMiddleware) each `redis_write()`
waits for the request's end; then all of them are sent in one pipeline before the response
leaves (Redis has them, in order, before the client has the answer), and their replies are
read once the response has gone (Django's `request_finished`, sent when the server closes
the response). Waiting for those replies before answering cost a cache miss a tenth of its
time on a busy host, and a cache hit more: a process that blocks on a socket waits for the
scheduler to run it again (docs/benchmarks.md). `writes_batched()` (tasks, commands, tests)
sends its block's writes when it ends and reads their replies at once; outside both, a write
goes at once.

A write whose commands Redis could not take (unreachable, or refusing one of them) has its
`on_failure` run: a buffered item is then written to the database by its owner, a cached
answer is only logged as not stored. When the sending fails that happens before the response
leaves; when a reply says so, once it has gone (a retried write is idempotent: a buffered
impression is inserted once whichever way it comes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponseBase
from redis.exceptions import RedisError, ResponseError

from infrastructure.redis_client import Command, Sent, commands_sent, redis_connection, replies_read

logger = logging.getLogger("shopsmart.cache")


@dataclass(frozen=True)
class _Write:
    commands: Sequence[Command]
    on_failure: Callable[[], None]


@dataclass(frozen=True)
class _Sent:
    """Writes whose commands were sent, their replies not read yet."""

    sent: Sent
    writes: list[_Write]


# The writes waiting for the end of the enclosing block (None: no block, write at once).
_waiting: ContextVar[list[_Write] | None] = ContextVar("redis_writes_waiting", default=None)
# A request's writes sent before its response left, confirmed when the response is closed.
_unconfirmed: ContextVar[_Sent | None] = ContextVar("redis_writes_unconfirmed", default=None)


def redis_write(commands: Sequence[Command], *, on_failure: Callable[[], None]) -> None:
    """Send the commands with the enclosing block's other writes, or now outside a block;
    `on_failure` runs if Redis does not take all of them. Only for writes whose replies
    nobody reads."""
    write = _Write(commands, on_failure)
    waiting = _waiting.get()
    if waiting is None:
        _confirm(_send([write]))
    else:
        waiting.append(write)


@contextmanager
def writes_batched() -> Iterator[None]:
    """Hold the block's Redis writes and send them in one round trip as it ends (also when it
    raises: what was computed and shown before the failure is still stored and recorded),
    reading their replies at once."""
    try:
        with _held() as waiting:
            yield
    finally:
        _confirm(_send(waiting))


@contextmanager
def _held() -> Iterator[list[_Write]]:
    """The writes made inside the block, held (not sent)."""
    waiting: list[_Write] = []
    token = _waiting.set(waiting)
    try:
        yield waiting
    finally:
        _waiting.reset(token)


def _send(writes: list[_Write]) -> _Sent | None:
    """The writes' commands sent in one round trip, their replies left to read (None when
    there was nothing to send, or the sending failed and each write has fallen back)."""
    if not writes:
        return None
    redis = redis_connection()
    if redis is None:
        _failed(writes)
        return None
    try:
        sent = commands_sent(redis, [command for write in writes for command in write.commands])
    except (RedisError, OSError):
        logger.warning("Redis writes failed: each falls back", exc_info=True)
        _failed(writes)
        return None
    return _Sent(sent, writes)


def _confirm(sent: _Sent | None) -> None:
    """Read the replies of sent writes; the writes with a command Redis refused, or all of
    them if the replies cannot be read, fall back."""
    if sent is None:
        return
    try:
        replies = replies_read(sent.sent)
    except (RedisError, OSError):
        logger.warning("Redis writes unconfirmed: each falls back", exc_info=True)
        _failed(sent.writes)
        return
    failed, start = [], 0
    for write in sent.writes:
        own = replies[start : start + len(write.commands)]
        start += len(write.commands)
        if any(isinstance(reply, ResponseError) for reply in own):
            failed.append(write)
    if failed:
        logger.warning(
            "Redis refused %d of %d writes: each falls back", len(failed), len(sent.writes)
        )
        _failed(failed)


def _failed(writes: list[_Write]) -> None:
    for write in writes:
        write.on_failure()


def _confirm_unconfirmed(**_: Any) -> None:
    """The replies of the request's writes, read once its response has gone."""
    sent = _unconfirmed.get()
    if sent is not None:
        _unconfirmed.set(None)
        _confirm(sent)


class RedisWritesMiddleware:
    """Each request's Redis writes in one round trip, sent before its response leaves and
    confirmed after (see the module's documentation)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        request_finished.connect(_confirm_unconfirmed, dispatch_uid="infrastructure.writes")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # A response the server never closed leaves its writes unconfirmed: read them now.
        _confirm_unconfirmed()
        try:
            with _held() as waiting:
                return self.get_response(request)
        finally:
            _unconfirmed.set(_send(waiting))
