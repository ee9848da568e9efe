from __future__ import annotations

from django.core.cache import cache as django_cache

from recommender import cache


def test_keys_carry_the_family_generation_and_a_bump_changes_them():
    first = cache.key(cache.TRENDING, "7d", 12)
    assert first.startswith("trending:g")
    assert first.endswith(":7d:12")
    assert cache.key(cache.TRENDING, "7d", 12) == first
    cache.generation_bump(cache.TRENDING)
    assert cache.key(cache.TRENDING, "7d", 12) != first


def test_a_lost_generation_never_comes_back_to_an_old_number():
    old = cache.generation(cache.SIMILARITY)
    django_cache.delete("generation:sim")
    cache.generation_bump(cache.SIMILARITY)
    assert cache.generation(cache.SIMILARITY) > old
