"""A request's Redis writes wait for its end and go in one round trip; with Redis down each
falls back to its owner."""

from __future__ import annotations

from typing import Any

import pytest
from redis.client import Pipeline

from infrastructure import cache
from infrastructure.buffer import buffer_drain, buffer_length, buffer_push
from infrastructure.writes import writes_batched


class Fallbacks:
    def __init__(self) -> None:
        self.items: list[str] = []

    def of(self, items: list[str]) -> Any:
        return lambda: self.items.extend(items)


def written_pipelines(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The commands of each pipeline sent from now on that writes (SET, RPUSH)."""
    sent: list[list[str]] = []
    execute = Pipeline.execute

    def spied(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        names = [str(command[0][0]) for command in self.command_stack]
        if {"SET", "RPUSH"} & set(names):
            sent.append(names)
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", spied)
    return sent


def a_miss(answer: str) -> str:
    return cache.cached(cache.RECOMMENDATIONS, 1, timeout=60, compute=lambda: answer, scope="v1")


@pytest.mark.redis
def test_a_blocks_writes_wait_for_its_end_then_go_in_one_round_trip(monkeypatch):
    sent = written_pipelines(monkeypatch)
    fallbacks = Fallbacks()
    with writes_batched():
        a_miss("computed")
        buffer_push("test-shown", ["list 1"], unbuffered=fallbacks.of(["list 1"]))
        assert buffer_length("test-shown") == 0
        assert sent == []
    assert sent == [["SET", "INCRBY", "RPUSH"]]
    assert buffer_length("test-shown") == 1
    assert a_miss("computed again") == "computed"  # stored
    assert fallbacks.items == []
    buffer_drain("test-shown", lambda chunk: None)


@pytest.mark.redis
def test_outside_a_block_a_write_goes_at_once():
    buffer_push("test-shown", ["list 1"], unbuffered=Fallbacks().of(["list 1"]))
    assert buffer_length("test-shown") == 1
    buffer_drain("test-shown", lambda chunk: None)


@pytest.mark.redis
def test_with_redis_down_each_write_falls_back_when_the_block_ends(settings):
    settings.CACHES = {
        "default": settings.CACHES["default"]
        | {
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }
    fallbacks = Fallbacks()
    with writes_batched():
        assert a_miss("computed") == "computed"
        buffer_push("test-shown", ["list 1"], unbuffered=fallbacks.of(["list 1"]))
        buffer_push("test-shown", ["list 2"], unbuffered=fallbacks.of(["list 2"]))
        assert fallbacks.items == []
    assert fallbacks.items == ["list 1", "list 2"]


def test_without_redis_a_buffered_item_is_written_by_its_owner_at_once(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    fallbacks = Fallbacks()
    with writes_batched():
        buffer_push("test-shown", ["list 1"], unbuffered=fallbacks.of(["list 1"]))
        assert fallbacks.items == ["list 1"]
