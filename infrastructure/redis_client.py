"""The Redis client behind Django's cache (django-redis), for what the cache API lacks:
several commands in one round trip, lists.

`commands_sent` and `replies_read` are that round trip cut in two, on redis-py's connection
API: a request's writes are sent before its response leaves and their replies read after it
has gone (infrastructure.writes), and a lookup reads its replies at once (`round_trip`).
redis-py's own pipeline object costs a cache lookup a fifth of its Python (a retry wrapper,
a command stack, argument checks) for the same bytes on the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from redis.exceptions import ResponseError

# One Redis command as its arguments, e.g. ("RPUSH", key, item).
Command = tuple[Any, ...]


def redis_client() -> Any:
    """django-redis's client (it makes keys and encodes values as the cache does, and its
    raw connection can pipeline commands); None on other cache backends."""
    client = getattr(cache, "client", None)
    return client if hasattr(client, "get_client") else None


def redis_connection() -> Any:
    """The raw Redis connection behind the cache; None on other cache backends."""
    client = redis_client()
    return client.get_client(write=True) if client is not None else None


@dataclass(frozen=True)
class Sent:
    """Commands sent on a connection taken from the pool, their replies not read yet."""

    pool: Any
    connection: Any
    count: int


def commands_sent(redis: Any, commands: Sequence[Command]) -> Sent:
    """The commands sent in one write on a connection of `redis`'s pool (raises RedisError
    or OSError if they could not be; the connection is then back in the pool)."""
    pool = redis.connection_pool
    connection = pool.get_connection()
    try:
        connection.send_packed_command(connection.pack_commands(commands))
    except BaseException:
        connection.disconnect()
        pool.release(connection)
        raise
    return Sent(pool, connection, len(commands))


def replies_read(sent: Sent) -> list[Any]:
    """Each command's reply in order, a refused command's as its ResponseError; the
    connection goes back to the pool (raises RedisError or OSError when the replies cannot
    be read: the connection is then dropped)."""
    replies: list[Any] = []
    try:
        for _ in range(sent.count):
            try:
                replies.append(sent.connection.read_response())
            except ResponseError as refused:
                replies.append(refused)
    except BaseException:
        sent.connection.disconnect()
        raise
    finally:
        sent.pool.release(sent.connection)
    return replies


def round_trip(redis: Any, commands: Sequence[Command]) -> list[Any]:
    """The commands sent in one write and their replies (see replies_read)."""
    return replies_read(commands_sent(redis, commands))
