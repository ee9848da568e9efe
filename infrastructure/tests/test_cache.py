from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache as django_cache

from infrastructure import cache
from infrastructure.writes import writes_batched


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


def test_a_bump_of_many_scopes_recomputes_each_of_them_and_no_other():
    computes = {visitor: Computations() for visitor in ("v1", "v2", "v3")}
    for visitor, compute in computes.items():
        rec(compute, visitor=visitor)
    django_cache.delete("generation:rec:v2")  # evicted: it must still move past old answers
    cache.generation_bump_many(cache.RECOMMENDATIONS, ["v1", "v2"])
    assert rec(computes["v1"], visitor="v1") == 2
    assert rec(computes["v2"], visitor="v2") == 2
    assert rec(computes["v3"], visitor="v3") == 1
    assert rec(computes["v2"], visitor="v2") == 2


def test_a_bump_with_the_writes_is_made_when_they_are_sent():
    compute = Computations()
    rec(compute, visitor="held")
    with writes_batched():
        cache.generation_bump_many(cache.RECOMMENDATIONS, ["held"], with_writes=True)
        # Held with the block's writes where Redis serves (none to hold without it).
        held = rec(compute, visitor="held")
    assert held == (1 if settings.REDIS_URL else 2)
    assert rec(compute, visitor="held") == 2


@pytest.mark.redis
def test_with_redis_a_bump_of_many_scopes_is_one_command():
    from django_redis import get_redis_connection

    connection = get_redis_connection("default")
    visitors = [f"many-{i}" for i in range(300)]
    django_cache.set("generation:rec:many-0", 7, timeout=None)
    before = connection.info("commandstats")
    cache.generation_bump_many(cache.RECOMMENDATIONS, visitors)
    after = connection.info("commandstats")

    def calls(name: str) -> int:
        return int(after.get(name, {}).get("calls", 0)) - int(before.get(name, {}).get("calls", 0))

    # The client sends one script; its SET NX and INCR of each scope run inside Redis.
    assert calls("cmdstat_eval") == 1
    assert calls("cmdstat_incr") == 300
    assert django_cache.get("generation:rec:many-0") == 8
    assert django_cache.get("generation:rec:many-1") > 7


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


class SharedNeighbours:
    """A per-product answer that many recommendations share, kept in the process."""

    def __init__(self) -> None:
        self.computed: list[int] = []

    def __call__(self, ids: list[int]) -> list[str]:
        self.computed.extend(ids)
        return [f"neighbours of {i}" for i in ids]

    def read(self, ids: list[int]) -> list[str]:
        return cache.cached_many(
            cache.SIMILARITY, "neighbours", ids, timeout=60, compute=self, local=True
        )


def recommendation_reading(shared: SharedNeighbours, ids: list[int], k: int) -> list[str]:
    """A recommendation (its lookup reads sim's generation) computed from shared answers."""
    return cache.cached(
        cache.RECOMMENDATIONS,
        k,
        timeout=60,
        compute=lambda: shared.read(ids),
        depends_on=(cache.SIMILARITY,),
        scope="v1",
    )


def test_a_shared_answer_kept_in_the_process_serves_later_computations_without_the_cache():
    shared = SharedNeighbours()
    recommendation_reading(shared, [1, 2], k=1)
    django_cache.delete_many(["sim:neighbours:1", "sim:neighbours:2"])

    assert recommendation_reading(shared, [1, 2, 3], k=2) == [
        "neighbours of 1",
        "neighbours of 2",
        "neighbours of 3",
    ]
    assert shared.computed == [1, 2, 3]


def test_a_kept_answer_is_not_used_once_its_generation_moves_on():
    shared = SharedNeighbours()
    recommendation_reading(shared, [1], k=1)
    cache.generation_bump(cache.SIMILARITY)
    recommendation_reading(shared, [1], k=2)
    assert shared.computed == [1, 1]


def test_a_kept_answer_is_not_used_outside_a_computation_that_read_its_generation():
    shared = SharedNeighbours()
    recommendation_reading(shared, [1], k=1)
    django_cache.delete("sim:neighbours:1")
    # Read on its own, nothing has just read sim's generation from the cache: ask the cache.
    shared.read([1])
    assert shared.computed == [1, 1]


def test_answers_served_from_the_process_count_as_hits():
    shared = SharedNeighbours()
    recommendation_reading(shared, [1, 2], k=1)
    before = cache.statistics()[cache.SIMILARITY]
    recommendation_reading(shared, [1, 2], k=2)
    recommendation_reading(shared, [1, 2], k=3)  # its lookup carries the counts of the last
    after = cache.statistics()[cache.SIMILARITY]
    assert after["hits"] - before["hits"] == 2
    assert after["misses"] == before["misses"]


class Cards:
    """A per-product read kept only in the process, under the catalog's generation."""

    def __init__(self) -> None:
        self.computed: list[list[int]] = []

    def __call__(self, ids: list[int]) -> list[str]:
        self.computed.append(ids)
        return [f"card of {i}" for i in ids]

    def read(self, ids: list[int]) -> list[str]:
        return cache.kept_many("card", ids, compute=self)

    def in_list(self, ids: list[int], k: int) -> list[str]:
        """Read while computing a cached list (whose lookup reads the catalog's generation)."""
        return cache.cached(
            cache.RECOMMENDATIONS, k, timeout=60, compute=lambda: self.read(ids), scope="v1"
        )


def test_a_kept_read_serves_later_lists_from_the_process_and_computes_only_new_ids():
    cards = Cards()
    assert cards.in_list([1, 2], k=1) == ["card of 1", "card of 2"]
    assert cards.in_list([2, 3, 3, 1], k=2) == ["card of 2", "card of 3", "card of 3", "card of 1"]
    assert cards.computed == [[1, 2], [3]]


def test_a_kept_read_is_computed_again_once_the_catalog_changes():
    cards = Cards()
    cards.in_list([1], k=1)
    cache.generation_bump(cache.CATALOG)
    cards.in_list([1], k=2)
    assert cards.computed == [[1], [1]]


def test_a_kept_read_outside_a_cached_computation_is_computed_every_time():
    cards = Cards()
    cards.in_list([1], k=1)
    assert cards.read([1]) == ["card of 1"]
    assert cards.read([]) == []
    assert cards.computed == [[1], [1]]
