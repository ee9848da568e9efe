"""A request's Redis writes wait for its end and go in one round trip, before its response
leaves; their replies are read once it has gone. Whatever Redis does not take falls back to
its owner."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.core.cache import cache as django_cache
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from redis.connection import AbstractConnection

from infrastructure import cache
from infrastructure.buffer import buffer_drain, buffer_length, buffer_push
from infrastructure.redis_client import redis_connection
from infrastructure.writes import RedisWritesMiddleware, writes_batched


class Fallbacks:
    def __init__(self) -> None:
        self.items: list[str] = []

    def of(self, items: list[str]) -> Any:
        return lambda: self.items.extend(items)


class Wire:
    """What this process sends to Redis and reads back, spied on the real connections."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # The commands of each round trip that writes (SET, RPUSH), as they were sent.
        self.sent: list[list[str]] = []
        # The keys of each lookup (MGET) sent.
        self.looked_up: list[list[str]] = []
        self.replies_read = 0
        send = AbstractConnection.send_packed_command
        read = AbstractConnection.read_response

        def spied_send(connection: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
            packed = b"".join(command) if isinstance(command, list) else bytes(command)
            commands = _commands(packed)
            self.looked_up += [keys for name, *keys in commands if name == "MGET"]
            # Stored answers expire (EX) and buffered items are pushed: lookups and the
            # generations they create are neither.
            if any(name == "RPUSH" or "EX" in rest for name, *rest in commands):
                self.sent.append(
                    [name for name, *_ in commands if name in ("SET", "INCRBY", "RPUSH")]
                )
            return send(connection, command, *args, **kwargs)

        def spied_read(connection: Any, *args: Any, **kwargs: Any) -> Any:
            self.replies_read += 1
            return read(connection, *args, **kwargs)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", spied_send)
        monkeypatch.setattr(AbstractConnection, "read_response", spied_read)


def _commands(packed: bytes) -> list[list[str]]:
    """The commands of a RESP request: `*<n>`, then n arguments, each `$<length>` and that
    many bytes (a pickled value may hold CR LF itself)."""
    commands, at = [], 0
    while packed.startswith(b"*", at):
        end = packed.index(b"\r\n", at)
        count, at = int(packed[at + 1 : end]), end + 2
        words = []
        for _ in range(count):
            end = packed.index(b"\r\n", at)
            length, at = int(packed[at + 1 : end]), end + 2
            words.append(packed[at : at + length].decode(errors="replace"))
            at += length + 2
        commands.append(words)
    return commands


def writes_sent(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The commands of each round trip that writes, from now on."""
    return Wire(monkeypatch).sent


def a_miss(answer: str) -> str:
    return cache.cached(cache.RECOMMENDATIONS, 1, timeout=60, compute=lambda: answer, scope="v1")


def shown_key() -> str:
    return str(django_cache.make_key("buffer:test-shown:pending"))


@pytest.fixture
def empty_buffer():
    yield
    redis_connection().delete(shown_key())


@pytest.mark.redis
def test_a_blocks_writes_wait_for_its_end_then_go_in_one_round_trip(monkeypatch, empty_buffer):
    wire = Wire(monkeypatch)
    fallbacks = Fallbacks()
    with writes_batched():
        a_miss("computed")
        buffer_push("test-shown", ["list 1"], unbuffered=fallbacks.of(["list 1"]))
        assert buffer_length("test-shown") == 0
        assert wire.sent == []
    assert wire.sent == [["SET", "INCRBY", "RPUSH"]]
    assert buffer_length("test-shown") == 1
    assert a_miss("computed again") == "computed"  # stored
    assert fallbacks.items == []
    buffer_drain("test-shown", lambda chunk: None)


@pytest.mark.redis
def test_a_block_that_fails_still_sends_what_it_wrote(empty_buffer):
    fallbacks = Fallbacks()

    def shown_then_failed() -> None:
        with writes_batched():
            buffer_push("test-shown", ["list 1"], unbuffered=fallbacks.of(["list 1"]))
            raise ValueError("the view failed")

    with pytest.raises(ValueError, match="the view failed"):
        shown_then_failed()
    assert buffer_length("test-shown") == 1
    assert fallbacks.items == []


@pytest.mark.redis
def test_outside_a_block_a_write_goes_at_once(empty_buffer):
    buffer_push("test-shown", ["list 1"], unbuffered=Fallbacks().of(["list 1"]))
    assert buffer_length("test-shown") == 1
    buffer_drain("test-shown", lambda chunk: None)


def a_request(fallbacks: Fallbacks) -> Any:
    """The middleware around a view that computes a list and records it as shown."""

    def view(request: HttpRequest) -> HttpResponse:
        a_miss("computed")
        buffer_push("test-shown", ["list 1"], unbuffered=fallbacks.of(["list 1"]))
        return HttpResponse("the list")

    return RedisWritesMiddleware(view)(RequestFactory().get("/"))


@pytest.mark.redis
@pytest.mark.django_db  # a closed response lets Django check its database connection
def test_a_requests_writes_leave_before_its_response_and_are_confirmed_after(
    monkeypatch, empty_buffer
):
    wire = Wire(monkeypatch)
    fallbacks = Fallbacks()
    response = a_request(fallbacks)
    # Sent in one round trip before the response is handed to the server...
    assert wire.sent == [["SET", "INCRBY", "RPUSH"]]
    read_before = wire.replies_read
    # ...and their three replies read when the server has sent it and closes it.
    response.close()
    assert wire.replies_read - read_before == 3
    assert fallbacks.items == []
    assert buffer_length("test-shown") == 1
    assert a_miss("computed again") == "computed"
    buffer_drain("test-shown", lambda chunk: None)


@pytest.mark.redis
@pytest.mark.django_db
def test_a_response_never_closed_has_its_writes_confirmed_by_the_next_request(
    monkeypatch, empty_buffer
):
    wire = Wire(monkeypatch)
    fallbacks = Fallbacks()
    a_request(fallbacks)
    read_before = wire.replies_read
    second = a_request(fallbacks)
    # The first request's three replies, read as the second began (its lookup's two too).
    assert wire.replies_read - read_before == 5
    second.close()
    assert fallbacks.items == []
    assert buffer_length("test-shown") == 2
    buffer_drain("test-shown", lambda chunk: None)


@pytest.mark.redis
@pytest.mark.django_db
def test_a_write_redis_refuses_falls_back_once_the_response_has_gone(empty_buffer):
    # The buffer's key holds a string: Redis answers the RPUSH with WRONGTYPE.
    redis_connection().set(shown_key(), "not a list")
    fallbacks = Fallbacks()
    response = a_request(fallbacks)
    assert fallbacks.items == []
    response.close()
    assert fallbacks.items == ["list 1"]
    # The list stored with it was taken: only the refused write fell back.
    assert a_miss("computed again") == "computed"


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": settings.CACHES["default"]
        | {
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }


@pytest.mark.redis
def test_with_redis_down_each_write_falls_back_when_the_block_ends(redis_down):
    fallbacks = Fallbacks()
    with writes_batched():
        assert a_miss("computed") == "computed"
        buffer_push("test-shown", ["list 1"], unbuffered=fallbacks.of(["list 1"]))
        buffer_push("test-shown", ["list 2"], unbuffered=fallbacks.of(["list 2"]))
        assert fallbacks.items == []
    assert fallbacks.items == ["list 1", "list 2"]


@pytest.mark.redis
def test_with_redis_down_a_requests_writes_fall_back_before_its_response_leaves(redis_down):
    fallbacks = Fallbacks()
    a_request(fallbacks)
    assert fallbacks.items == ["list 1"]


def test_without_redis_a_buffered_item_is_written_by_its_owner_at_once(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    fallbacks = Fallbacks()
    with writes_batched():
        buffer_push("test-shown", ["list 1"], unbuffered=fallbacks.of(["list 1"]))
        assert fallbacks.items == ["list 1"]


@pytest.mark.redis
@pytest.mark.django_db
def test_connections_redis_dropped_are_replaced_without_losing_a_write(empty_buffer):
    # Connections open and pooled, then dropped by the server (a restart, an idle timeout).
    a_request(Fallbacks()).close()
    pool = redis_connection().connection_pool
    admin = redis.Redis(connection_pool=pool.__class__(**pool.connection_kwargs))  # its own
    own = admin.client_id()
    dropped = [
        admin.client_kill_filter(_id=client["id"])
        for client in admin.client_list(_type="normal")
        if int(client["db"]) == pool.connection_kwargs.get("db", 0) and int(client["id"]) != own
    ]
    assert dropped
    admin.close()
    fallbacks = Fallbacks()
    a_request(fallbacks).close()
    assert fallbacks.items == []
    assert buffer_length("test-shown") == 2
    buffer_drain("test-shown", lambda chunk: None)
