from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.algorithms import content_similarity
from recommender.algorithms.content_similarity import (
    ProductText,
    content_lists_refreshed,
    content_neighbours,
    content_resemblance,
    iter_content_blocks,
    tfidf_matrix,
)
from recommender.algorithms.item_similarity import Neighbours, blend_neighbours

TEXTS = [
    ProductText("Blue ceramic mug", "A large mug for tea", "Kitchen"),
    ProductText("Red ceramic mug", "A small mug for coffee", "Kitchen"),
    ProductText("Wool winter scarf", "Warm scarf", "Clothing"),
    ProductText("Cotton summer scarf", "Light scarf", "Clothing"),
    ProductText("Garden hose", "Twenty metres", "Garden"),
]
IDS = np.array([10, 20, 30, 40, 50])


def as_dict(result: Neighbours) -> dict[int, list[int]]:
    neighbours: dict[int, list[int]] = {}
    for product, neighbour in zip(result.product, result.neighbour, strict=True):
        neighbours.setdefault(int(product), []).append(int(neighbour))
    return neighbours


def test_products_described_alike_are_neighbours_and_unrelated_ones_are_not():
    result = as_dict(content_neighbours(TEXTS, IDS, top_k=3))
    assert result[10] == [20]
    assert result[30] == [40]
    assert 50 not in result  # shares no word with any other product


def test_scores_are_cosines_best_first():
    result = content_neighbours(TEXTS, IDS, top_k=3)
    matrix = tfidf_matrix(TEXTS)
    expected = float((matrix[0] @ matrix[1].T).toarray()[0, 0])
    first = np.flatnonzero(result.product == 10)[0]
    assert result.score[first] == pytest.approx(expected)
    assert 0 < expected < 1
    assert (result.co_occurrence == 0).all()


def test_small_blocks_give_the_same_answer(monkeypatch):
    whole = content_neighbours(TEXTS, IDS, top_k=2)
    monkeypatch.setattr(content_similarity, "BLOCK_ROWS", 1)  # one product per block
    blocks = list(iter_content_blocks(tfidf_matrix(TEXTS), IDS, top_k=2))
    assert len(blocks) == len(IDS)
    assert as_dict(Neighbours.concatenate(blocks)) == as_dict(whole)


def test_ties_are_broken_by_product_id():
    texts = [ProductText("same words", "", "")] * 4
    result = as_dict(content_neighbours(texts, np.array([1, 2, 3, 4]), top_k=2))
    assert result == {1: [2, 3], 2: [1, 3], 3: [1, 2], 4: [1, 2]}


def brute_force(matrix: sp.csr_matrix, ids: np.ndarray, top_k: int) -> dict[int, list[int]]:
    """Every product's top_k from the whole dense product: score descending, ties by id."""
    scores = np.round((matrix @ matrix.T).toarray(), 10)
    np.fill_diagonal(scores, 0.0)
    lists = {}
    for row, product in enumerate(ids.tolist()):
        found = [(-scores[row, c], int(ids[c])) for c in np.flatnonzero(scores[row] > 0)]
        if found:
            lists[product] = [neighbour for _, neighbour in sorted(found)[:top_k]]
    return lists


@pytest.mark.parametrize(("margin", "block_rows", "threads"), [(20, 5000, 1), (0, 7, 2), (3, 1, 1)])
def test_lists_are_the_full_products_with_identical_texts_past_the_margin(
    monkeypatch, margin, block_rows, threads
):
    # 200 products from a handful of words: runs of identical texts longer than the margin,
    # so the top-n cut falls among equal scores and those products are computed again.
    rng = np.random.default_rng(7)
    words = ["oak", "mug", "blue", "lamp", "wool", "tin"]
    texts = [
        ProductText(" ".join(rng.choice(words, size=2)), str(rng.choice(words)), "Home")
        for _ in range(200)
    ]
    ids = np.arange(1, 401, 2)
    matrix = tfidf_matrix(texts)
    monkeypatch.setattr(content_similarity, "TIE_MARGIN", margin)
    monkeypatch.setattr(content_similarity, "BLOCK_ROWS", block_rows)
    found = Neighbours.concatenate(list(iter_content_blocks(matrix, ids, top_k=5, threads=threads)))
    assert as_dict(found) == brute_force(matrix, ids, 5)


def test_empty_catalog_and_empty_texts_have_no_neighbours():
    assert len(content_neighbours([], np.empty(0, dtype=np.int64))) == 0
    blank = [ProductText("", "", ""), ProductText("the", "", "")]
    assert len(content_neighbours(blank, np.array([1, 2]))) == 0


def neighbours(*rows: tuple[int, int, float, int]) -> Neighbours:
    product, neighbour, score, count = zip(*rows, strict=True)
    return Neighbours(np.array(product), np.array(neighbour), np.array(score), np.array(count))


def test_blend_weights_both_and_gives_cold_products_their_content_neighbours():
    behavioural = neighbours((1, 2, 0.8, 3), (1, 3, 0.4, 2))
    content = neighbours((1, 3, 0.6, 0), (1, 4, 0.5, 0), (9, 1, 0.7, 0))
    result = blend_neighbours(behavioural, content, content_weight=0.25, top_k=10)
    rows = {
        (int(p), int(n)): (round(float(s), 6), int(c))
        for p, n, s, c in zip(
            result.product, result.neighbour, result.score, result.co_occurrence, strict=True
        )
    }
    assert rows == {
        (1, 2): (0.6, 3),  # 0.75 x 0.8
        (1, 3): (0.45, 2),  # 0.75 x 0.4 + 0.25 x 0.6
        (1, 4): (0.125, 0),  # 0.25 x 0.5
        (9, 1): (0.7, 0),  # no behavioural neighbours: content at full score
    }
    assert result.product.tolist() == [1, 1, 1, 9]  # grouped by product, best first


def test_blend_without_content_keeps_behavioural_and_cuts_to_top_k():
    behavioural = neighbours((1, 2, 0.8, 3), (1, 3, 0.4, 2), (1, 4, 0.2, 2))
    content = neighbours((1, 5, 0.9, 0))
    result = blend_neighbours(behavioural, content, content_weight=0.0, top_k=2)
    assert result.neighbour.tolist() == [2, 3]
    with pytest.raises(ValueError, match="between 0 and 1"):
        blend_neighbours(behavioural, content, content_weight=1.5, top_k=2)


def normalised(rows: Sequence[Sequence[float]]) -> sp.csr_matrix:
    matrix = np.array(rows, dtype=np.float64)
    return sp.csr_matrix(matrix / np.linalg.norm(matrix, axis=1, keepdims=True))


# Six products over four terms; product 30 is re-described from the "garden" term to the
# "kitchen" ones, product 60 is new.
BEFORE: list[list[float]] = [[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 1, 0], [0, 0, 1, 1]]
AFTER: list[list[float]] = [
    [1, 1, 0, 0],
    [1, 0, 0, 0],
    [1, 1, 0, 0.2],
    [0, 1, 1, 0],
    [0, 0, 1, 1],
    [1, 0.5, 0, 0],
]
BEFORE_IDS = np.array([10, 20, 30, 40, 50])
AFTER_IDS = np.array([10, 20, 30, 40, 50, 60])


@pytest.mark.parametrize("top_k", [2, 3, 10])
def test_refreshing_changed_products_gives_their_exact_lists_and_updates_the_others(top_k):
    current = content_neighbours_of(normalised(BEFORE), BEFORE_IDS, top_k)
    full = content_neighbours_of(normalised(AFTER), AFTER_IDS, top_k)
    resemblance = content_resemblance(normalised(AFTER), AFTER_IDS, np.array([30, 60]), top_k=top_k)
    touched, lists = content_lists_refreshed(resemblance, current, top_k=top_k)
    refreshed = as_dict(
        Neighbours.concatenate([current.of_products(np.setdiff1d(BEFORE_IDS, touched)), lists])
    )
    # The changed products' own lists are exactly the full computation's.
    assert refreshed[30] == as_dict(full)[30]
    assert refreshed[60] == as_dict(full)[60]
    if top_k >= len(AFTER_IDS):
        # Nothing was cut away: every list is what a full run gives.
        assert refreshed == as_dict(full)
    # The unchanged products that now resemble the new one list it.
    assert 60 in refreshed[10]
    assert 60 in refreshed[20]
    assert set(touched) >= {10, 20, 30, 60}


def test_a_product_no_longer_alike_leaves_the_lists_that_named_it():
    current = content_neighbours_of(normalised(BEFORE), BEFORE_IDS, 10)
    assert 30 in as_dict(current)[50]
    after = [row[:] for row in BEFORE]
    after[2] = [1, 0, 0, 0]
    resemblance = content_resemblance(normalised(after), BEFORE_IDS, np.array([30]), top_k=10)
    touched, lists = content_lists_refreshed(resemblance, current, top_k=10)
    assert 50 in touched
    assert 30 not in as_dict(lists).get(50, [])
    assert as_dict(lists)[30] == [20, 10]


def test_a_deleted_product_is_ignored():
    resemblance = content_resemblance(normalised(BEFORE), BEFORE_IDS, np.array([99]), top_k=3)
    assert len(resemblance.changed) == 0
    assert len(resemblance.own) == 0


def content_neighbours_of(matrix: sp.csr_matrix, ids: np.ndarray, top_k: int) -> Neighbours:
    return Neighbours.concatenate(list(iter_content_blocks(matrix, ids, top_k=top_k)))
