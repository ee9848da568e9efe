from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from recommender.algorithms import boosted_trees
from recommender.algorithms.boosted_trees import compiled


def fitted(
    leaves: int = 31, iterations: int = 60, seed: int = 0
) -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    """A classifier learnt from rows with missing values and ties (integer features), and
    the rows."""
    rng = np.random.default_rng(seed)
    values = np.column_stack(
        [
            rng.normal(size=2_000),
            rng.integers(0, 6, 2_000).astype(np.float64),  # few distinct values: ties
            rng.exponential(size=2_000),
            rng.normal(size=2_000),
        ]
    )
    values[rng.random(2_000) < 0.1, 0] = np.nan  # missing values the trees learn to route
    label = (np.nan_to_num(values[:, 0]) + values[:, 1] / 3 + rng.normal(size=2_000) > 1.2).astype(
        np.int64
    )
    model = HistGradientBoostingClassifier(
        max_iter=iterations, max_leaf_nodes=leaves, learning_rate=0.1, random_state=seed
    ).fit(values, label)
    return model, values


def awkward_rows(model: HistGradientBoostingClassifier, values: np.ndarray) -> np.ndarray:
    """Rows with each feature exactly at a split's threshold, missing, or infinite, beside
    ordinary ones."""
    trees = compiled(model)
    rng = np.random.default_rng(1)
    rows = values[rng.choice(len(values), 300)].copy()
    for feature, thresholds in zip(trees.features.tolist(), trees.thresholds, strict=True):
        rows[: len(thresholds[:100]), feature] = thresholds[:100]
    rows[100:110, 2] = np.nan  # a feature never missing in training
    rows[110:120, 0] = np.inf
    rows[120:130, 3] = -np.inf
    rows[130:140] = np.nan
    return rows


# The last: the learned ranking's size, 400 trees of 15 leaves, whose values are summed over
# many chunks of rows in the trees' order.
@pytest.mark.parametrize(("leaves", "iterations"), [(31, 60), (2, 60), (48, 60), (15, 400)])
def test_the_compiled_trees_give_predict_probas_probabilities_bit_for_bit(leaves, iterations):
    model, values = fitted(leaves=leaves, iterations=iterations)
    rows = np.concatenate([values, awkward_rows(model, values)])
    expected = model.predict_proba(rows)[:, 1]
    np.testing.assert_array_equal(compiled(model).probability(rows), expected)


def test_many_rows_are_scored_in_chunks_with_the_same_probabilities(monkeypatch):
    model, values = fitted()
    expected = compiled(model).probability(values)
    monkeypatch.setattr(boosted_trees, "CHUNK_CELLS", 7 * model.n_iter_)  # 7 rows a chunk
    np.testing.assert_array_equal(compiled(model).probability(values), expected)
    np.testing.assert_array_equal(expected, model.predict_proba(values)[:, 1])


def test_one_row_and_no_rows():
    model, values = fitted()
    trees = compiled(model)
    np.testing.assert_array_equal(
        trees.probability(values[:1]), model.predict_proba(values[:1])[:, 1]
    )
    assert trees.probability(values[:0]).shape == (0,)


def test_what_the_tables_cannot_hold_is_refused():
    _, values = fitted()
    three_classes = HistGradientBoostingClassifier(max_iter=5).fit(
        values[:, 1:], values[:, 1].astype(np.int64) % 3
    )
    with pytest.raises(ValueError, match="binary"):
        compiled(three_classes)
    categorical = HistGradientBoostingClassifier(max_iter=5, categorical_features=[1]).fit(
        values, (values[:, 1] > 2).astype(np.int64)
    )
    with pytest.raises(ValueError, match="categorical"):
        compiled(categorical)
    wide = HistGradientBoostingClassifier(max_iter=3, max_leaf_nodes=100, min_samples_leaf=2).fit(
        values,
        np.random.default_rng(2).integers(0, 2, len(values)),  # noise: many leaves
    )
    with pytest.raises(ValueError, match="at most 64"):
        compiled(wide)
