from __future__ import annotations

import pytest
from django.core.cache import cache as django_cache

from recommender import cache


class Computations:
    """A compute function that says how often it ran and returns its run number."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self) -> int:
        self.runs += 1
        return self.runs


def rec(compute: Computations, visitor: str = "v1", k: int = 10) -> int:
    return cache.cached(
        cache.RECOMMENDATIONS,
        k,
        timeout=60,
        compute=compute,
        depends_on=(cache.TRENDING,),
        scope=visitor,
    )


def test_an_answer_is_computed_once_and_then_read():
    compute = Computations()
    assert rec(compute) == 1
    assert rec(compute) == 1
    assert rec(compute, k=5) == 2
    assert compute.runs == 2


def test_a_bump_of_the_family_a_dependency_or_the_scope_recomputes():
    compute = Computations()
    other_visitor = Computations()
    rec(compute)
    rec(other_visitor, visitor="v2")
    cache.generation_bump(cache.RECOMMENDATIONS, scope="v1")
    assert rec(compute) == 2
    assert rec(other_visitor, visitor="v2") == 1  # another visitor's answer still holds
    cache.generation_bump(cache.TRENDING)
    assert rec(compute) == 3
    assert rec(other_visitor, visitor="v2") == 2
    cache.flush()
    assert rec(compute) == 4


def test_a_lost_generation_never_comes_back_to_an_old_number():
    old = cache.generation(cache.SIMILARITY)
    django_cache.delete("generation:sim")
    cache.generation_bump(cache.SIMILARITY)
    assert cache.generation(cache.SIMILARITY) > old


def test_an_answer_computed_under_an_evicted_generation_is_not_read_again():
    compute = Computations()
    rec(compute)
    django_cache.delete("generation:rec:v1")
    assert rec(compute) == 2
    assert rec(compute) == 2


def test_hits_and_misses_are_counted_per_family():
    before = cache.statistics()[cache.RECOMMENDATIONS]
    compute = Computations()
    rec(compute)
    rec(compute)
    rec(compute)
    after = cache.statistics()[cache.RECOMMENDATIONS]
    assert after["misses"] - before["misses"] == 1
    assert after["hits"] - before["hits"] == 2


@pytest.mark.redis
def test_with_redis_a_hit_is_one_round_trip(settings):
    from django_redis import get_redis_connection

    compute = Computations()
    rec(compute)
    connection = get_redis_connection("default")
    before = connection.info("stats")["total_commands_processed"]
    rec(compute)
    # MGET + INCR, pipelined; the INFO call itself counts one.
    assert connection.info("stats")["total_commands_processed"] - before == 3
