from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings

from infrastructure.process_memory import ProcessMemory


def listening(memory: ProcessMemory[int], key: str = "any") -> int:
    """The mark once the memory's subscription is confirmed (a round trip after its first
    use)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _, mark = memory.recall(key)
        if mark is not None:
            return mark
        time.sleep(0.01)
    raise AssertionError("the subscription was never confirmed")


@pytest.fixture
def memories() -> tuple[ProcessMemory[int], ProcessMemory[int]]:
    """The same memory as two processes hold it."""
    name = f"test-{time.monotonic_ns()}"
    return (
        ProcessMemory(name, seconds=60, entries=100),
        ProcessMemory(name, seconds=60, entries=100),
    )


@pytest.mark.redis
def test_a_kept_value_is_recalled_until_another_process_forgets_it(memories):
    here, elsewhere = memories
    here.keep("token", 7, listening(here))
    assert here.recall("token")[0] == 7
    elsewhere.forget("token")
    assert here.recall("token")[0] is None


@pytest.mark.redis
def test_a_forget_reaches_only_its_own_key(memories):
    here, elsewhere = memories
    mark = listening(here)
    here.keep("kept", 1, mark)
    here.keep("forgotten", 2, mark)
    elsewhere.forget("forgotten")
    assert [here.recall(key)[0] for key in ("kept", "forgotten")] == [1, None]


@pytest.mark.redis
def test_a_value_read_before_a_forget_was_taken_is_not_kept(memories):
    """A request read the token's row, another process deleted it and said so, and this
    process took the message before the request could keep what it read."""
    here, elsewhere = memories
    mark = listening(here)
    elsewhere.forget("token")
    here.recall("another")  # takes the forget
    here.keep("token", 7, mark)
    assert here.recall("token")[0] is None


def subscribers(server: redis.Redis) -> set[str]:
    return {str(client["id"]) for client in server.client_list(_type="pubsub")}


@pytest.mark.redis
def test_a_lost_subscription_empties_the_memory(memories):
    here, elsewhere = memories
    server = redis.Redis.from_url(settings.REDIS_URL)
    before = subscribers(server)
    here.keep("token", 7, listening(here))
    # Redis drops this memory's subscriber (only it: other processes may subscribe too), so
    # whatever is published meanwhile never arrives.
    for subscriber in subscribers(server) - before:
        server.client_kill_filter(_id=subscriber)
    time.sleep(0.05)
    assert here.recall("token") == (None, None)
    # Subscribed again, it keeps and forgets as before.
    here.keep("token", 8, listening(here))
    assert here.recall("token")[0] == 8
    elsewhere.forget("token")
    assert here.recall("token")[0] is None


@pytest.mark.redis
def test_values_expire_and_the_oldest_go_first():
    memory: ProcessMemory[int] = ProcessMemory(
        f"test-{time.monotonic_ns()}", seconds=0.2, entries=2
    )
    mark = listening(memory)
    for value, key in enumerate(("a", "b", "c")):
        memory.keep(key, value, mark)
    assert [memory.recall(key)[0] for key in ("a", "b", "c")] == [None, 1, 2]
    time.sleep(0.25)
    assert [memory.recall(key)[0] for key in ("b", "c")] == [None, None]


def test_without_redis_nothing_is_kept(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    memory: ProcessMemory[int] = ProcessMemory("test-local", seconds=60, entries=10)
    assert memory.recall("token") == (None, None)
    memory.keep("token", 7, 0)
    assert memory.recall("token") == (None, None)
    memory.forget("token")  # nothing to tell, no error


def test_with_redis_unreachable_nothing_is_kept_and_nothing_raised(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.1, "IGNORE_EXCEPTIONS": True},
        }
    }
    memory: ProcessMemory[int] = ProcessMemory("test-down", seconds=60, entries=10)
    for _ in range(2):  # the second read does not try again yet
        assert memory.recall("token") == (None, None)
    memory.keep("token", 7, 0)
    assert memory.recall("token") == (None, None)
    memory.forget("token")  # logged, not raised
