"""The bins a weighted gradient-boosted fit splits on, found with one sort per feature.

scikit-learn's HistGradientBoostingClassifier splits each feature at bin edges: the midpoints
of its distinct values when it has at most 255, otherwise its quantiles. Given sample weights
(the learned ranking's sampled negatives carry the inverse of their share) it takes weighted
quantiles, and release 1.9 sorts the feature again for each of the 254 quantiles: a one-tree
fit on 100,000 rows of 27 features took 9 s with weights, 0.4 s without, and the default
store's evaluation spent half its time there (scikit-learn/scikit-learn#34248 fixes it
upstream, not yet released). Above 200,000 rows it bins a weighted sample of 200,000 rows
instead.

Here each feature is sorted once, the same edges are read off one cumulative sum of the
weights, and the classifier is fitted on the bin numbers: fewer than 256 distinct values, so
it keeps them as its bins, and its trees split the rows as they would have split the values.
Up to 200,000 rows the edges are scikit-learn's own, and the predictions equal those of its
weighted fit bit for bit (tested, on unseen rows and on values at every edge too); above, the
edges come from every row rather than from a sample.

Pure: arrays in and out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.algorithms.events import FloatArray

# scikit-learn's bins per feature, besides the one for missing values.
MAX_BINS = 255
# scikit-learn's cap on edges (an infinite edge only splits off missing values).
ALMOST_INF = 1e300
_QUANTILES = np.linspace(0, 100, num=MAX_BINS + 1)[1:-1]


@dataclass(frozen=True)
class Bins:
    """Each feature's bin edges, ascending: a value falls in the first bin whose edge is at
    least the value (the last bin when it exceeds them all)."""

    edges: tuple[FloatArray, ...]

    @classmethod
    def of(cls, values: FloatArray, weight: FloatArray) -> Bins:
        """The edges of each column of values (rows x features) under the rows' weights."""
        values = np.asarray(values, dtype=np.float64)
        weight = np.asarray(weight, dtype=np.float64)
        return cls(tuple(_edges(values[:, column], weight) for column in range(values.shape[1])))

    def numbered(self, values: FloatArray) -> FloatArray:
        """Each value's bin number (missing values stay missing), what the classifier reads."""
        numbers = np.empty(values.shape, dtype=np.float64)
        for column, edges in enumerate(self.edges):
            numbers[:, column] = np.searchsorted(edges, values[:, column], side="left")
        numbers[np.isnan(values)] = np.nan
        return numbers

    def value_thresholds(self, column: int, thresholds: FloatArray) -> FloatArray:
        """The thresholds of a classifier fitted on bin numbers, as thresholds on the values
        themselves: a value and its bin number pass the same splits.

        A split sends a row left when its bin number is at most the threshold (a midpoint
        between bin numbers), that is at most j = floor(threshold); a value's bin number
        counts the edges below the value, so it is at most j exactly when edges[j] is not
        below the value: the value is at most edges[j]. A threshold beyond the last edge
        passes every value."""
        edges = self.edges[column]
        below = np.floor(thresholds).astype(np.int64)
        mapped: FloatArray = np.full(len(thresholds), np.inf)
        inside = below < len(edges)
        mapped[inside] = edges[np.maximum(below[inside], 0)]
        # A threshold below bin 0 (none the classifier makes) sends no value left.
        mapped[below < 0] = -np.inf
        return mapped


def _edges(column: FloatArray, weight: FloatArray) -> FloatArray:
    """scikit-learn's edges for one feature (missing and zero-weight rows ignored): the
    midpoints of its distinct values, or its 254 weighted quantiles by the averaged inverted
    empirical distribution (NumPy's "averaged_inverted_cdf" with weights)."""
    present = ~np.isnan(column) & (weight != 0)
    value, weight = column[present], weight[present]
    order = np.argsort(value)
    value, weight = value[order], weight[order]
    distinct = np.unique(value)
    if len(distinct) <= 1:
        return np.empty(0)
    if len(distinct) <= MAX_BINS:
        edges = (distinct[:-1] + distinct[1:]) / 2
    else:
        # The same operations as scikit-learn's, in its order, so the floating-point sums and
        # the ties between them come out the same (the second sort may reorder tied values).
        again = np.argsort(value.reshape(-1, 1), axis=0)[:, 0]
        cumulative = np.cumsum(weight[again])
        wanted = _QUANTILES / 100 * cumulative[-1]
        at = np.clip(np.searchsorted(cumulative, wanted), 0, len(value) - 1)
        below = value[again[at]]
        above = value[again[np.clip(at + 1, 0, len(value) - 1)]]
        exact = cumulative[at] - wanted <= np.finfo(np.float64).eps
        edges = np.where(exact, (below + above) / 2, below)
    clipped: FloatArray = np.clip(np.unique(edges), None, ALMOST_INF)
    return clipped
