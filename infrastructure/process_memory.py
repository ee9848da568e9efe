"""Values a process keeps for itself, forgotten in every process as soon as one forgets them.

For a read every request makes and that rarely changes (an API token's user): from Redis it
costs a round trip (about 0.15 ms on a quiet host, more when its two cores are busy), from
the process's memory a dictionary lookup. Each process subscribes to a Redis channel of the
memory; `forget()` publishes the key there, and before every read of its memory a process
takes the messages already waiting on its subscription's socket (a poll, a few microseconds,
no round trip). Redis writes a published message to the subscribers in the same pass of its
event loop as its reply to the publisher, but in no fixed order: the publisher may read its
reply before a subscriber's message is written. So `forget()` makes one more round trip
(a PING) after the PUBLISH: Redis reads that PING only after finishing the pass that wrote
the message to every subscriber, so a request that starts after one process's `forget()`
has returned no longer finds the key in any process.

Nothing is kept while the subscription is not confirmed: without Redis (the zero-configuration
store), before the first confirmation, and from the moment the subscription's connection
fails or is re-established (messages published meanwhile were lost, so the memory is
emptied) until Redis confirms it again. The caller then reads its own store, as it would
without this memory. A value read before a forget that this process has since taken is not
kept (it may be the forgotten one): `recall()` hands out a mark that `keep()` checks.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import suppress
from typing import Any, Generic, TypeVar

from redis.exceptions import RedisError

from infrastructure.redis_client import redis_client

T = TypeVar("T")

logger = logging.getLogger("shopsmart.cache")

# After a failed subscription, how long a process reads its store before trying again.
RETRY_SECONDS = 5.0


class ProcessMemory(Generic[T]):
    """Up to `entries` values by key, each kept for at most `seconds` (what changes without
    a forget, such as a row edited behind the ORM's back, is seen after that)."""

    def __init__(self, name: str, *, seconds: float, entries: int) -> None:
        self.name = name
        self.seconds = seconds
        self.entries = entries
        # Key -> (monotonic time it expires, value), oldest kept first.
        self._values: dict[str, tuple[float, T]] = {}
        # Counts the forgets and resets taken: a value read under an older count may be stale.
        self._mark = 0
        self._confirmed = False
        self._pubsub: Any = None
        self._pid = 0
        self._retry_at = 0.0
        # Reentrant: the connection's reconnect callback runs inside _listening().
        self._lock = threading.RLock()

    def recall(self, key: str) -> tuple[T | None, int | None]:
        """The value kept under the key (None if there is none), and the mark to keep a value
        read elsewhere with (None: nothing may be kept now)."""
        with self._lock:
            if not self._listening():
                return None, None
            kept = self._values.get(key)
            if kept is not None and kept[0] <= time.monotonic():
                del self._values[key]
                kept = None
            return (kept[1] if kept is not None else None), self._mark

    def keep(self, key: str, value: T, mark: int | None) -> None:
        """Keep a value read after `recall()` gave this mark, unless a forget or a reset was
        taken since."""
        with self._lock:
            if mark is None or mark != self._mark or not self._confirmed:
                return
            self._values.pop(key, None)
            self._values[key] = (time.monotonic() + self.seconds, value)
            while len(self._values) > self.entries:
                del self._values[next(iter(self._values))]

    def forget(self, key: str) -> None:
        """Forget the key here and tell every other process to."""
        with self._lock:
            self._values.pop(key, None)
            self._mark += 1
        client = redis_client()
        if client is None:
            return
        try:
            connection = client.get_client(write=True)
            connection.publish(self._channel(client), key)
            # Returns once every subscriber has the message on its socket (see the module).
            connection.ping()
        except (RedisError, OSError):
            logger.warning("Forget of %s not published", self.name, exc_info=True)

    def clear(self) -> None:
        """Forget everything this process keeps (not published)."""
        with self._lock:
            self._values.clear()
            self._mark += 1

    def _channel(self, client: Any) -> str:
        # Under the cache's key prefix: stores sharing one Redis keep apart.
        return str(client.make_key(f"forget:{self.name}"))

    def _listening(self) -> bool:
        """Take the forgets waiting on the subscription; whether the memory may be used."""
        if self._pid != os.getpid():
            # A forked child shares its parent's socket: it must never read from it.
            self._pubsub = None
            self._emptied()
            self._pid = os.getpid()
        if self._pubsub is None and not self._subscribe():
            return False
        try:
            while (message := self._pubsub.get_message(timeout=0)) is not None:
                if message["type"] == "subscribe":
                    self._confirmed = True
                elif message["type"] == "message":
                    self._values.pop(message["data"].decode(), None)
                    self._mark += 1
        except (RedisError, OSError):
            logger.warning("%s: subscription lost, reading the store", self.name, exc_info=True)
            self._unsubscribed()
            return False
        return self._confirmed

    def _subscribe(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        client = redis_client()
        if client is None:
            return False
        try:
            pubsub = client.get_client(write=True).pubsub()
            pubsub.subscribe(self._channel(client))
            pubsub.connection.register_connect_callback(self._reconnected)
        except (RedisError, OSError):
            logger.warning("%s: cannot subscribe, reading the store", self.name, exc_info=True)
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return False
        self._pubsub = pubsub
        return True

    def _reconnected(self, _connection: Any) -> None:
        """The subscription's connection was re-established: forgets published while it was
        down were lost."""
        with self._lock:
            self._emptied()

    def _unsubscribed(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._emptied()
        # Subscribed again at the next read; only a failed subscription waits RETRY_SECONDS.
        if pubsub is not None:
            with suppress(RedisError, OSError):
                pubsub.reset()

    def _emptied(self) -> None:
        """Nothing kept, and nothing kept again until Redis confirms the subscription."""
        self._confirmed = False
        self._values.clear()
        self._mark += 1
