"""The event arrays every algorithm reads, and how much each kind of event counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from tracking.vocabulary import ADD_TO_CART as ADD_TO_CART
from tracking.vocabulary import EVENT_TYPE_WEIGHT_BY_CODE
from tracking.vocabulary import PURCHASE as PURCHASE
from tracking.vocabulary import SECONDS_PER_DAY as SECONDS_PER_DAY
from tracking.vocabulary import VIEW as VIEW

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Event type codes and their weights, defined with the event model (tracking.vocabulary).
EVENT_TYPE_WEIGHTS: FloatArray = np.array(EVENT_TYPE_WEIGHT_BY_CODE)


@dataclass(frozen=True)
class EventArrays:
    """Events as parallel arrays: ids as stored, times as Unix seconds."""

    visitor: IntArray
    product: IntArray
    event_type: npt.NDArray[np.int8]
    timestamp: FloatArray

    def __len__(self) -> int:
        return len(self.visitor)

    @classmethod
    def empty(cls) -> EventArrays:
        return cls(
            visitor=np.empty(0, dtype=np.int64),
            product=np.empty(0, dtype=np.int64),
            event_type=np.empty(0, dtype=np.int8),
            timestamp=np.empty(0, dtype=np.float64),
        )

    @classmethod
    def concatenate(cls, parts: list[EventArrays]) -> EventArrays:
        return cls(
            visitor=np.concatenate([p.visitor for p in parts]),
            product=np.concatenate([p.product for p in parts]),
            event_type=np.concatenate([p.event_type for p in parts]),
            timestamp=np.concatenate([p.timestamp for p in parts]),
        )

    def weights(self) -> FloatArray:
        weights: FloatArray = EVENT_TYPE_WEIGHTS[self.event_type]
        return weights

    def select(self, mask: npt.NDArray[np.bool_]) -> EventArrays:
        return EventArrays(
            visitor=self.visitor[mask],
            product=self.product[mask],
            event_type=self.event_type[mask],
            timestamp=self.timestamp[mask],
        )


def pair_key(first: IntArray, second: IntArray) -> IntArray:
    """One sortable int64 per (first, second) pair of non-negative ids below 2**31."""
    key: IntArray = (first.astype(np.int64) << 32) | (second.astype(np.int64) & 0xFFFFFFFF)
    return key


def distinct_pairs(first: IntArray, second: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct (first, second) pairs of non-negative ids, ascending by first, then
    second: `np.unique(np.stack([first, second]), axis=1)`'s answer. A sparse matrix's
    duplicates are merged after a counting sort by row, where NumPy sorts the pairs as
    records: 8 s against 1.4 s for 5,000,000 pairs on this host."""
    if len(first) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    shape = (int(first.max()) + 1, int(second.max()) + 1)
    matrix = sp.csr_matrix((np.ones(len(first), dtype=np.int32), (first, second)), shape=shape)
    matrix.sum_duplicates()
    rows = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return rows, matrix.indices.astype(np.int64)


def positions(sorted_ids: IntArray, ids: IntArray) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Where each id sits in an ascending id array, and whether it is there at all (the
    position of an absent id is some valid index, not to be used)."""
    if len(sorted_ids) == 0:
        return np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=np.bool_)
    position: IntArray = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return position, sorted_ids[position] == ids


# Arrays up to this length (values and the set together) go through members() and distinct()
# below; longer ones through NumPy's own np.isin and np.unique. Those choose a method and probe
# the values' range before any work: on a few hundred values that fixed cost is 5-10 times
# the work, and one visitor's list makes a dozen such calls (its cache miss, served while
# the shopper waits). On millions of values, as the evaluation and pipelines pass, NumPy's
# table method is the faster one.
SMALL_ARRAY = 4096


def members(values: IntArray, among: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each value is in `among` (np.isin's answer)."""
    among = np.asarray(among)
    if len(values) + len(among) > SMALL_ARRAY:
        found: npt.NDArray[np.bool_] = np.isin(values, among)
        return found
    if len(among) == 0:
        return np.zeros(len(values), dtype=np.bool_)
    ordered = np.sort(among)
    found = ordered.take(np.searchsorted(ordered, values), mode="clip") == values
    return found


def distinct(values: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct values, ascending, and where each value sits among them (np.unique's
    answer with return_inverse)."""
    if len(values) > SMALL_ARRAY:
        unique, inverse = np.unique(values, return_inverse=True)
        return unique, inverse.reshape(-1)
    order, starts = _runs(values)
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return values[order[starts]], inverse


def distinct_first(values: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct values, ascending, and where each first occurs (np.unique's answer with
    return_index)."""
    if len(values) > SMALL_ARRAY:
        unique, first = np.unique(values, return_index=True)
        return unique, first
    order, starts = _runs(values)
    first = order[starts]
    return values[first], first


def _runs(values: IntArray) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """The stable order sorting the values, and where each run of equal sorted values starts."""
    order = np.argsort(values, kind="stable")
    return order, run_starts(values[order])


def run_starts(groups: IntArray) -> npt.NDArray[np.bool_]:
    """Whether each row of a grouped array starts a run of equal values."""
    starts = np.empty(len(groups), dtype=np.bool_)
    starts[:1] = True
    np.not_equal(groups[1:], groups[:-1], out=starts[1:])
    return starts


def slices(starts: IntArray, lengths: IntArray) -> tuple[IntArray, IntArray]:
    """For slices [starts[i], starts[i] + lengths[i]) of one array: each element's slice
    number and its index in the array."""
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    index: IntArray = np.repeat(starts, lengths) + offset
    return owner, index


def rank_within(groups: IntArray) -> IntArray:
    """0, 1, 2, ... within each run of equal values of a grouped array."""
    if len(groups) == 0:
        return np.empty(0, dtype=np.int64)
    index = np.arange(len(groups))
    # Each row's run starts at the last run start at or before it.
    rank: IntArray = index - np.maximum.accumulate(np.where(run_starts(groups), index, 0))
    return rank


@dataclass(frozen=True)
class Groups:
    """Rows grouped by equal keys: `order` sorts the rows by the keys, `group[i]` is the group
    number of row order[i], and `first` the sorted position where each group starts."""

    order: IntArray
    group: IntArray
    first: IntArray

    def __len__(self) -> int:
        return len(self.first)

    def sum(self, values: FloatArray) -> FloatArray:
        """Each group's total of a per-row value."""
        total: FloatArray = np.bincount(
            self.group, weights=values[self.order], minlength=len(self)
        ).astype(np.float64)
        return total

    def keys(self, column: IntArray) -> IntArray:
        """Each group's value of one of its key columns."""
        values: IntArray = column[self.order][self.first]
        return values


def grouped(*keys: IntArray) -> Groups:
    """Group rows by several integer key columns (the first the most significant).

    A lexsort on the columns: much faster than np.unique(axis=...) on stacked arrays.
    """
    order = np.lexsort(keys[::-1]).astype(np.int64)
    changes = np.zeros(len(order), dtype=np.bool_)
    if len(order):
        changes[0] = True
        for key in keys:
            ordered = key[order]
            changes[1:] |= ordered[1:] != ordered[:-1]
    return Groups(
        order=order,
        group=(np.cumsum(changes) - 1).astype(np.int64),
        first=np.flatnonzero(changes).astype(np.int64),
    )


def best_first(group: IntArray, score: FloatArray, tiebreak: IntArray) -> IntArray:
    """The order sorting rows by group ascending, score (in [0, 1]) descending, then tiebreak
    ascending; group and tiebreak are non-negative.

    All three are packed into one int64 key, sorted by NumPy's radix sort: ten times faster
    than a lexsort on millions of rows. Scores are compared to 2**-20 at worst (to about
    3e-11 for a 100,000-product catalog); closer scores fall back to the tiebreak.
    """
    if len(group) == 0:
        return np.empty(0, dtype=np.int64)
    group_bits = max(int(group.max()).bit_length(), 1)
    tie_bits = max(int(tiebreak.max()).bit_length(), 1)
    score_bits = 63 - group_bits - tie_bits
    if score_bits < 20:
        order: IntArray = np.lexsort((tiebreak, -score, group))
        return order
    quantised = np.rint((1.0 - np.clip(score, 0.0, 1.0)) * float((1 << score_bits) - 1))
    key = (
        (group.astype(np.int64) << (score_bits + tie_bits))
        | (quantised.astype(np.int64) << tie_bits)
        | tiebreak.astype(np.int64)
    )
    order = np.argsort(key, kind="stable")
    return order
