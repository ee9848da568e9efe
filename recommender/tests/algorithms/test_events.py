import numpy as np
import pytest

from recommender.algorithms.events import (
    SMALL_ARRAY,
    distinct,
    distinct_first,
    distinct_pairs,
    members,
)


@pytest.mark.parametrize("size", [0, 1, 7, 300, SMALL_ARRAY + 1, 50_000])
def test_members_and_distinct_answer_as_numpy_does_at_every_size(size):
    # A visitor's list passes a few hundred values, the evaluation millions: both sides of
    # SMALL_ARRAY must give NumPy's answers, repeated values and negative ids included.
    rng = np.random.default_rng(size)
    values = rng.integers(-5, max(size // 3, 10), size)
    among = rng.integers(-5, max(size // 3, 10), max(size // 4, 1))

    assert np.array_equal(members(values, among), np.isin(values, among))
    assert np.array_equal(members(values, tuple(among.tolist())), np.isin(values, among))
    unique, inverse = np.unique(values, return_inverse=True)
    got_unique, got_inverse = distinct(values)
    assert np.array_equal(got_unique, unique)
    assert np.array_equal(got_inverse, inverse)
    unique, first = np.unique(values, return_index=True)
    got_unique, got_first = distinct_first(values)
    assert np.array_equal(got_unique, unique)
    assert np.array_equal(got_first, first)


def test_members_of_nothing_is_all_false():
    assert members(np.array([1, 2], dtype=np.int64), ()).tolist() == [False, False]


@pytest.mark.parametrize("size", [0, 1, 50, 20_000])
def test_distinct_pairs_answer_as_numpy_does(size):
    rng = np.random.default_rng(size)
    first = rng.integers(0, max(size // 7, 1), size)
    second = rng.integers(0, 3 * 10**9, size) if size == 50 else rng.integers(0, 40, size)
    pairs = np.unique(np.stack([first, second]), axis=1)
    got_first, got_second = distinct_pairs(first, second)
    assert np.array_equal(got_first, pairs[0])
    assert np.array_equal(got_second, pairs[1])
    assert got_first.dtype == got_second.dtype == np.int64
