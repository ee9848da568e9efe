from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from recommender.algorithms.binning import Bins


def weighted_rows(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows like the ranker's: counts with ties, scores with more distinct values than bins,
    a missing feature, a constant one; labels, and weights as the sampled negatives carry."""
    rng = np.random.default_rng(seed)
    values = np.column_stack(
        [
            rng.integers(0, 30, rows).astype(np.float64),
            np.round(rng.exponential(size=rows), 2),
            rng.normal(size=rows),
            np.round(rng.random(rows) * 1_000),
            np.full(rows, 4.0),
            rng.random(rows),
        ]
    )
    values[rng.random(rows) < 0.05, 2] = np.nan
    label = (rng.random(rows) < 0.05 + 0.4 * (values[:, 5] > 0.8)).astype(np.int64)
    weight = np.where(label == 1, 1.0, rng.choice([2.5, 7.0, 11.75], size=rows))
    return values, label, weight


def awkward(bins: Bins, values: np.ndarray) -> np.ndarray:
    """Rows exactly at each edge, between the training values, beyond them, missing, infinite."""
    rows = np.repeat(values[:1], 400, axis=0)
    for column, edges in enumerate(bins.edges):
        rows[: len(edges[:200]), column] = edges[:200]
        rows[200:300, column] = np.linspace(
            np.nanmin(values[:, column]) - 1, np.nanmax(values[:, column]) + 1, 100
        )
    rows[300:310] = np.nan
    rows[310:320] = np.inf
    rows[320:330] = -np.inf
    return rows


FIT = {"max_iter": 40, "max_leaf_nodes": 15, "learning_rate": 0.1, "early_stopping": False}


@pytest.mark.parametrize("rows", [3_000, 40_000])
def test_a_fit_on_bin_numbers_predicts_what_scikit_learns_weighted_fit_predicts(rows):
    values, label, weight = weighted_rows(rows)
    plain = HistGradientBoostingClassifier(**FIT).fit(values, label, sample_weight=weight)
    bins = Bins.of(values, weight)
    binned = HistGradientBoostingClassifier(**FIT).fit(
        bins.numbered(values), label, sample_weight=weight
    )

    unseen = np.concatenate([weighted_rows(2_000, seed=1)[0], awkward(bins, values)])
    for asked in (values, unseen):
        np.testing.assert_array_equal(
            binned.predict_proba(bins.numbered(asked)), plain.predict_proba(asked)
        )


def test_weights_move_the_edges_of_a_feature_with_many_values():
    values = np.arange(1_000, dtype=np.float64).reshape(-1, 1)
    heavy_top = np.where(values[:, 0] >= 500, 9.0, 1.0)

    plain, weighted = Bins.of(values, np.ones(1_000)), Bins.of(values, heavy_top)

    # With the top half weighing nine times the rest, a tenth of the edges lie below 500.
    assert (plain.edges[0] < 500).mean() == pytest.approx(0.5, abs=0.01)
    assert (weighted.edges[0] < 500).mean() == pytest.approx(0.1, abs=0.01)


def test_few_distinct_values_each_get_a_bin_and_missing_values_stay_missing():
    values = np.array([[3.0], [1.0], [np.nan], [3.0], [7.0]])

    bins = Bins.of(values, np.ones(5))

    np.testing.assert_array_equal(bins.edges[0], [2.0, 5.0])
    np.testing.assert_array_equal(bins.numbered(values)[:, 0], [1.0, 0.0, np.nan, 1.0, 2.0])
