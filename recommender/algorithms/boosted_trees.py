"""A fitted HistGradientBoostingClassifier's probabilities for a request's few hundred rows,
every tree walked at once.

scikit-learn predicts tree by tree: per tree a Python call, an output array and an OpenMP
parallel region, whose threads must wake on a core that another web worker is using. With the
live ranking's 300 trees that cost 3.3 ms for 30 rows and 5.7 ms for 300 on one thread (as a
web process runs it), the largest part of a recommendation for a visitor shopping now.

Here the trees are compiled once into tables, after QuickScorer (Lucchese et al., "QuickScorer:
a fast algorithm to rank documents with additive ensembles of regression trees", SIGIR 2015):
number each tree's leaves left to right; a split that a row does not pass (its value is above
the threshold, so it goes right) rules out the leaves of its left subtree, a bit mask; the leaf
the row reaches is the leftmost one that no failed split rules out. For one feature, the splits
a value fails are those with a threshold below it: a prefix of its splits sorted by threshold,
found by one binary search. So each feature keeps, for each prefix and each tree, the AND of
the masks of that tree's splits in the prefix, and a row's leaves are the AND of one row of
each feature's table. A missing value (NaN) takes the row after the last prefix: the masks of
the splits that send missing values right.

Exact, not an approximation: the same leaves as scikit-learn's traversal, their values added
to the baseline in the same order, and the same logistic function, so the probabilities equal
predict_proba's bit for bit (tested, with missing values). It reads the fitted model's trees
(`_predictors`, `_baseline_prediction`), which scikit-learn does not document: the version is
pinned in requirements.txt and the test fails on any change of their meaning. ONNX Runtime
(through skl2onnx) would serve the same trees, but compares in float32: its lists would not be
the ones the evaluation measured.

Pure: a fitted model in, arrays in and out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier

from recommender.algorithms.events import FloatArray, IntArray

MaskArray = npt.NDArray[np.unsignedinteger[Any]]
# Rows x trees cells scored at once: about 0.5 MB per mask array, so a chunk's masks stay in
# a core's cache while every feature's table rows are ANDed into them. With 2**20 cells (4 MB)
# the default store's 104,000 candidate rows x 400 trees took 1.4 s, with 2**17 0.8 s.
CHUNK_CELLS = 1 << 17


@dataclass(frozen=True)
class CompiledTrees:
    """One binary classifier's trees as tables (see the module's docstring)."""

    # The features some split reads, and for each: its splits' thresholds ascending, and the
    # (splits + 2, trees) table of leaves still reachable after each prefix of them (row 0:
    # none failed; the last row: the value is missing).
    features: IntArray
    thresholds: tuple[FloatArray, ...]
    reachable: tuple[MaskArray, ...]
    # (trees, most leaves): each tree's leaf values, leaves numbered left to right.
    leaf_value: FloatArray
    baseline: float

    def probability(self, values: FloatArray) -> FloatArray:
        """The probability of the positive class of each row of `values` (rows x features)."""
        # Each row takes a row of every table: chunks keep the (rows x trees) arrays small
        # when an evaluation scores a month of cases at once.
        chunk = max(1, CHUNK_CELLS // max(len(self.leaf_value), 1))
        return np.concatenate(
            [
                self._probability(values[start : start + chunk])
                for start in range(0, len(values), chunk)
            ]
            or [np.empty(0, dtype=np.float64)]
        )

    def _probability(self, values: FloatArray) -> FloatArray:
        rows, trees = len(values), len(self.leaf_value)
        dtype = self.reachable[0].dtype if self.reachable else np.dtype(np.uint64)
        reachable = np.full((rows, trees), np.iinfo(dtype).max, dtype=dtype)
        # Every index below is in range by construction. NumPy's take buffers its output when
        # it must check them (mode "raise", as fancy indexing does), which was half of the
        # scoring: mode "clip" writes straight into the arrays given.
        taken = np.empty_like(reachable)
        for feature, thresholds, table in zip(
            self.features.tolist(), self.thresholds, self.reachable, strict=True
        ):
            column = values[:, feature]
            failed = np.searchsorted(thresholds, column, side="left")
            failed[np.isnan(column)] = len(thresholds) + 1
            np.take(table, failed, axis=0, out=taken, mode="clip")
            reachable &= taken
        # The leftmost reachable leaf: the lowest set bit's position.
        lowest = reachable & (~reachable + dtype.type(1))
        leaf = np.bitwise_count(lowest - dtype.type(1))
        # The baseline, then each tree's values, one row per tree (read from the flat table),
        # added row after row, as scikit-learn adds one tree after another: NumPy reduces
        # the outer axis of a C-ordered array row by row (pairwise summation is only for the
        # contiguous axis), so the sums are the same bit for bit (tested).
        most_leaves = self.leaf_value.shape[1]
        index = np.ascontiguousarray(leaf.T, dtype=np.intp)
        index += (np.arange(trees) * most_leaves)[:, None]
        terms = np.empty((trees + 1, rows))
        terms[0] = self.baseline
        np.take(self.leaf_value.ravel(), index, out=terms[1:], mode="clip")
        raw: FloatArray = np.add.reduce(terms, axis=0)
        return np.asarray(expit(raw), dtype=np.float64)


def compiled(model: HistGradientBoostingClassifier) -> CompiledTrees:
    """The fitted binary classifier's trees as tables; ValueError for what they cannot hold
    (several classes, categorical splits, more than 64 leaves in a tree)."""
    if model.n_trees_per_iteration_ != 1:
        raise ValueError("only a binary classifier's trees can be compiled")
    trees = [iteration[0].nodes for iteration in model._predictors]
    most_leaves = max((int(nodes["is_leaf"].sum()) for nodes in trees), default=1)
    if most_leaves > 64:
        raise ValueError(f"a tree has {most_leaves} leaves: at most 64 can be compiled")
    if any(nodes["is_categorical"].any() for nodes in trees):
        raise ValueError("categorical splits cannot be compiled")
    dtype: np.dtype[np.unsignedinteger[Any]] = np.dtype(
        np.uint32 if most_leaves <= 32 else np.uint64
    )
    everything = (1 << (8 * dtype.itemsize)) - 1
    leaf_value = np.zeros((len(trees), most_leaves))
    # One row per split: its tree, feature, threshold, whether a missing value goes right, and
    # the leaves it rules out when failed (its left subtree's).
    splits: list[tuple[int, int, float, bool, int]] = []
    for tree, nodes in enumerate(trees):
        leaves: list[int] = []

        def walk(
            node: int, tree: int = tree, nodes: Any = nodes, leaves: list[int] = leaves
        ) -> int:
            """Numbers the leaves under `node` left to right; answers how many are numbered
            then."""
            if nodes["is_leaf"][node]:
                leaves.append(node)
                return len(leaves)
            first = len(leaves)
            middle = walk(int(nodes["left"][node]))
            last = walk(int(nodes["right"][node]))
            left_subtree = ((1 << middle) - 1) ^ ((1 << first) - 1)
            splits.append(
                (
                    tree,
                    int(nodes["feature_idx"][node]),
                    float(nodes["num_threshold"][node]),
                    not bool(nodes["missing_go_to_left"][node]),
                    everything ^ left_subtree,
                )
            )
            return last

        walk(0)
        leaf_value[tree, : len(leaves)] = nodes["value"][leaves]
    tree_of = np.array([s[0] for s in splits], dtype=np.int64)
    feature_of = np.array([s[1] for s in splits], dtype=np.int64)
    threshold = np.array([s[2] for s in splits], dtype=np.float64)
    missing_right = np.array([s[3] for s in splits], dtype=np.bool_)
    mask = np.array([s[4] for s in splits], dtype=dtype)
    features = np.unique(feature_of)
    thresholds, reachable = [], []
    for feature in features.tolist():
        rows = np.flatnonzero(feature_of == feature)
        rows = rows[np.argsort(threshold[rows], kind="stable")]
        table = np.full((len(rows) + 2, len(trees)), everything, dtype=dtype)
        table[np.arange(1, len(rows) + 1), tree_of[rows]] = mask[rows]
        np.bitwise_and.accumulate(table[:-1], axis=0, out=table[:-1])
        missing = rows[missing_right[rows]]
        np.bitwise_and.at(table[-1], tree_of[missing], mask[missing])
        thresholds.append(threshold[rows])
        reachable.append(table)
    return CompiledTrees(
        features=features,
        thresholds=tuple(thresholds),
        reachable=tuple(reachable),
        leaf_value=leaf_value,
        baseline=float(np.ravel(model._baseline_prediction)[0]),
    )
