import numpy as np
import pytest
import scipy.sparse as sp

from recommender.algorithms.behavioural import SimilarityMethod, resolved_method
from recommender.algorithms.ease import EASE_MAX_PRODUCTS, ease_weights, iter_ease_blocks
from recommender.algorithms.item_similarity import InteractionMatrix, Neighbours

# Five visitors x four products (ids 10, 20, 30, 40): 10 and 20 go together, 30 with both
# sometimes, 40 alone.
ROWS = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], float)
INTERACTIONS = InteractionMatrix(
    matrix=sp.csr_matrix(ROWS * 3.0),  # weights: EASE reads them as binary
    visitor_ids=np.arange(5, dtype=np.int64),
    product_ids=np.array([10, 20, 30, 40], dtype=np.int64),
)


def test_weights_are_the_closed_form_ridge_solution():
    weights, common = ease_weights(INTERACTIONS.matrix, l2=1.0)
    gram = ROWS.T @ ROWS
    np.testing.assert_array_equal(common.toarray(), gram)
    assert np.all(np.diag(weights) == 0)
    # B minimises ||X - XB||² + λ||B||² with diag(B) = 0: for each column j, the weights of the
    # other products are the ridge regression of column j on them.
    for j in range(4):
        others = [i for i in range(4) if i != j]
        x = ROWS[:, others]
        expected = np.linalg.solve(x.T @ x + np.eye(3), x.T @ ROWS[:, j])
        np.testing.assert_allclose(weights[others, j], expected, atol=1e-6)


def test_weights_match_the_double_precision_inverse_on_a_larger_catalog():
    # More products than one band of the mirrored triangle.
    rng = np.random.default_rng(0)
    matrix = sp.csr_matrix((rng.random((3_000, 1_500)) < 0.01).astype(np.float64))
    weights, _ = ease_weights(matrix, l2=50.0)
    gram = (matrix.T @ matrix).toarray() + 50.0 * np.eye(1_500)
    inverse = np.linalg.inv(gram)
    expected = inverse / -np.diag(inverse)
    np.fill_diagonal(expected, 0.0)
    assert weights.dtype == np.float32
    np.testing.assert_allclose(weights, expected, atol=1e-5 * np.abs(expected).max())


def test_neighbours_are_positive_shared_and_best_first():
    table = Neighbours.concatenate(list(iter_ease_blocks(INTERACTIONS, l2=1.0, top_k=2)))
    keys = zip(table.product.tolist(), table.neighbour.tolist(), strict=True)
    pairs = dict(zip(keys, table.score.tolist(), strict=True))
    assert table.product.tolist() == sorted(table.product.tolist())
    assert (table.score > 0).all()
    # 40 shares no visitor with anything; 30 shares only one visitor with 10 (below 2).
    assert not any(40 in pair for pair in pairs)
    assert (30, 10) not in pairs
    assert (10, 30) not in pairs
    assert pairs[(10, 20)] > 0
    assert pairs[(20, 10)] > 0
    assert table.co_occurrence[(table.product == 10) & (table.neighbour == 20)].tolist() == [3]
    for product in np.unique(table.product):
        scores = table.score[table.product == product]
        assert list(scores) == sorted(scores, reverse=True)


def test_blocks_computed_in_threads_are_those_of_one_thread():
    rng = np.random.default_rng(1)
    interactions = InteractionMatrix(
        matrix=sp.csr_matrix((rng.random((400, 300)) < 0.05).astype(np.float64)),
        visitor_ids=np.arange(400, dtype=np.int64),
        product_ids=np.arange(300, dtype=np.int64) * 10,
    )

    def table(threads: int) -> list[tuple[object, ...]]:
        blocks = iter_ease_blocks(interactions, l2=5.0, top_k=10, block_size=16, threads=threads)
        return [tuple(part.product) + tuple(part.neighbour) + tuple(part.score) for part in blocks]

    assert len(table(1)) == 19
    assert table(2) == table(1)


def test_auto_uses_ease_on_small_catalogs_and_cosine_beyond():
    assert resolved_method(SimilarityMethod.AUTO, 3_730) is SimilarityMethod.EASE
    assert resolved_method(SimilarityMethod.AUTO, EASE_MAX_PRODUCTS + 1) is SimilarityMethod.COSINE
    assert resolved_method(SimilarityMethod.COSINE, 10) is SimilarityMethod.COSINE
    too_many = InteractionMatrix(
        matrix=sp.csr_matrix((1, EASE_MAX_PRODUCTS + 1)),
        visitor_ids=np.zeros(1, dtype=np.int64),
        product_ids=np.arange(EASE_MAX_PRODUCTS + 1, dtype=np.int64),
    )
    with pytest.raises(ValueError, match="cosine"):
        next(iter_ease_blocks(too_many))
