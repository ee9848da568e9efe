from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.algorithms.events import ADD_TO_CART, PURCHASE, VIEW, EventArrays
from recommender.algorithms.item_similarity import (
    interaction_matrix,
    item_neighbours,
    iter_neighbour_blocks,
)


def events(*rows: tuple[int, int, int]) -> EventArrays:
    """Rows of (visitor, product, type)."""
    if not rows:
        return EventArrays.empty()
    visitor, product, kind = zip(*rows, strict=True)
    return EventArrays(
        visitor=np.array(visitor, dtype=np.int64),
        product=np.array(product, dtype=np.int64),
        event_type=np.array(kind, dtype=np.int8),
        timestamp=np.zeros(len(rows)),
    )


def pairs(result) -> dict[tuple[int, int], tuple[object, int]]:
    return {
        (int(p), int(n)): (float(s), int(c))
        for p, n, s, c in zip(
            result.product, result.neighbour, result.score, result.co_occurrence, strict=True
        )
    }


def test_weights_of_repeated_events_add_up():
    matrix = interaction_matrix(events((7, 100, VIEW), (7, 100, PURCHASE), (8, 200, ADD_TO_CART)))
    assert matrix.visitor_ids.tolist() == [7, 8]
    assert matrix.product_ids.tolist() == [100, 200]
    assert matrix.matrix.toarray().tolist() == [[6.0, 0.0], [0.0, 3.0]]


def test_cosine_values_and_common_visitor_counts():
    # Visitors 1 and 2 both viewed products 10 and 20; visitor 2 bought 20.
    # Vectors over visitors (1, 2): p10 = (1, 1), p20 = (1, 6).
    result = pairs(
        item_neighbours(
            interaction_matrix(
                events(
                    (1, 10, VIEW), (2, 10, VIEW), (1, 20, VIEW), (2, 20, VIEW), (2, 20, PURCHASE)
                )
            )
        )
    )
    expected = (1 + 6) / (math.sqrt(2) * math.sqrt(37))
    assert result[(10, 20)][0] == pytest.approx(expected)
    assert result[(20, 10)][0] == pytest.approx(expected)
    assert result[(10, 20)][1] == 2


def test_pairs_with_fewer_than_two_common_visitors_are_dropped():
    # 10 and 20 share visitors 1 and 2; 10 and 30 share only visitor 1.
    result = pairs(
        item_neighbours(
            interaction_matrix(
                events((1, 10, VIEW), (2, 10, VIEW), (1, 20, VIEW), (2, 20, VIEW), (1, 30, VIEW))
            )
        )
    )
    assert set(result) == {(10, 20), (20, 10)}


def test_one_common_visitor_is_enough_when_asked():
    result = pairs(
        item_neighbours(
            interaction_matrix(events((1, 10, VIEW), (1, 30, VIEW))), min_common_visitors=1
        )
    )
    assert result[(10, 30)] == (pytest.approx(1.0), 1)


def test_a_product_is_never_its_own_neighbour():
    result = item_neighbours(
        interaction_matrix(events((1, 10, VIEW), (2, 10, VIEW), (1, 20, VIEW), (2, 20, VIEW)))
    )
    assert not np.any(result.product == result.neighbour)


def test_top_k_keeps_the_best_and_breaks_ties_by_lower_id():
    rows = []
    # Product 1 shares visitors with 2, 3 and 4 equally (cosine 1 with each of 2, 3, 4)...
    for visitor in (1, 2):
        rows += [(visitor, 1, VIEW), (visitor, 2, VIEW), (visitor, 3, VIEW), (visitor, 4, VIEW)]
    result = item_neighbours(interaction_matrix(events(*rows)), top_k=2)
    of_one = result.neighbour[result.product == 1].tolist()
    assert of_one == [2, 3]
    assert np.all(np.diff(result.score[result.product == 1]) <= 0)


def random_events(*, seed: int, count: int, visitors: int, products: int) -> EventArrays:
    rng = np.random.default_rng(seed)
    return EventArrays(
        visitor=rng.integers(0, visitors, count),
        product=rng.integers(0, products, count),
        event_type=rng.integers(0, 3, count).astype(np.int8),
        timestamp=np.zeros(count),
    )


def test_blocks_give_the_same_answer_as_one_pass():
    matrix = interaction_matrix(random_events(seed=1, count=3_000, visitors=200, products=300))
    whole = item_neighbours(matrix, top_k=10, block_size=10_000)
    blocked = item_neighbours(matrix, top_k=10, block_size=7)
    assert pairs(whole).keys() == pairs(blocked).keys()
    for key, (score, count) in pairs(whole).items():
        assert pairs(blocked)[key] == (pytest.approx(score), count)
    # Ranges computed separately (as separate workers would) add up to the whole.
    halves = [
        part
        for start, stop in ((0, 150), (150, 300))
        for part in iter_neighbour_blocks(matrix, top_k=10, start=start, stop=stop, block_size=64)
    ]
    assert sum(len(part) for part in halves) == len(whole)


def test_blocks_computed_in_threads_are_those_of_one_thread():
    matrix = interaction_matrix(random_events(seed=3, count=3_000, visitors=200, products=300))

    def table(threads: int) -> list[tuple[object, ...]]:
        return [
            tuple(part.product) + tuple(part.neighbour) + tuple(part.score)
            for part in iter_neighbour_blocks(matrix, top_k=10, block_size=16, threads=threads)
        ]

    assert len(table(1)) == 19
    assert table(2) == table(1)


def test_dense_reference_agrees_on_random_data():
    """Against a direct dense computation (dense cosine with the common-visitor filter)."""
    matrix = interaction_matrix(random_events(seed=2, count=2_000, visitors=60, products=80))
    dense = matrix.matrix.toarray()
    norms = np.linalg.norm(dense, axis=0)
    cosine = (dense.T @ dense) / np.outer(norms, norms)
    binary = (dense > 0).astype(int)
    common = binary.T @ binary
    result = pairs(item_neighbours(matrix, top_k=1_000))
    ids = matrix.product_ids
    for i in range(len(ids)):
        for j in range(len(ids)):
            key = (int(ids[i]), int(ids[j]))
            if i != j and common[i, j] >= 2:
                assert result[key] == (pytest.approx(cosine[i, j]), common[i, j])
            else:
                assert key not in result


def test_empty_input_gives_no_neighbours():
    result = item_neighbours(interaction_matrix(events()))
    assert len(result) == 0
