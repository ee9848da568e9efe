"""The arrays the recommenders read and answer with: the catalog, histories, ranked lists, the
rules of a list and the recommendations themselves."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from recommender.algorithms.events import (
    EventArrays,
    FloatArray,
    IntArray,
    positions,
    rank_within,
    slices,
)

# A product the catalog does not hold, or a visitor without a category.
NO_CATEGORY = -1
# The personalised tier reads each visitor's last HISTORY_LENGTH events and the best
# NEIGHBOURS_PER_EVENT neighbours of each of their products.
HISTORY_LENGTH = 50
NEIGHBOURS_PER_EVENT = 20

BoolArray = npt.NDArray[np.bool_]


class Tier(IntEnum):
    PERSONALISED = 0
    CATEGORY_TRENDING = 1
    GLOBAL_TRENDING = 2
    # Pinned by a merchandising rule (algorithms.merchandising).
    FEATURED = 3


@dataclass(frozen=True)
class Catalog:
    """Every product that can appear in a history: sorted ids, categories, availability."""

    product: IntArray
    category: IntArray
    available: BoolArray

    def category_of(self, product_ids: IntArray) -> IntArray:
        """Each product's category, NO_CATEGORY for products the catalog does not hold."""
        position, known = positions(self.product, product_ids)
        if len(self.product) == 0:
            return np.full(len(product_ids), NO_CATEGORY, dtype=np.int64)
        return np.where(known, self.category[position], NO_CATEGORY)

    def is_available(self, product_ids: IntArray) -> BoolArray:
        position, known = positions(self.product, product_ids)
        if len(self.product) == 0:
            return known
        available: BoolArray = known & self.available[position]
        return available


@dataclass(frozen=True)
class Histories:
    """Visitors' recent events as rows: visitor index (0..n-1), product, event weight."""

    visitor: IntArray
    product: IntArray
    weight: FloatArray

    @classmethod
    def from_events(
        cls, events: EventArrays, visitor_ids: IntArray, *, length: int = HISTORY_LENGTH
    ) -> Histories:
        """The last `length` events of each visitor in visitor_ids (indexed by position)."""
        order = np.argsort(visitor_ids, kind="stable")
        sorted_ids = visitor_ids[order]
        position = np.minimum(np.searchsorted(sorted_ids, events.visitor), len(sorted_ids) - 1)
        wanted = (
            (sorted_ids[position] == events.visitor)
            if len(sorted_ids)
            else np.zeros(len(events), dtype=np.bool_)
        )
        index = order[position[wanted]]
        recent = events.select(wanted)
        # Newest first within each visitor; equal times keep the later-stored event first.
        by_recency = np.lexsort((-np.arange(len(recent)), -recent.timestamp, index))
        index = index[by_recency]
        keep = rank_within(index) < length
        return cls(
            visitor=index[keep],
            product=recent.product[by_recency][keep],
            weight=recent.weights()[by_recency][keep],
        )


@dataclass(frozen=True)
class Ranked:
    """Products ranked within groups (a category id, or one group for global trending).

    Sorted by group, then best first.
    """

    group: IntArray
    product: IntArray
    score: FloatArray

    @classmethod
    def of(cls, product: IntArray, score: FloatArray, group: IntArray | None = None) -> Ranked:
        group = np.zeros(len(product), dtype=np.int64) if group is None else group
        order = np.lexsort((product, -score, group))
        return cls(group=group[order], product=product[order], score=score[order])

    @classmethod
    def empty(cls) -> Ranked:
        return cls.of(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))

    @classmethod
    def concatenate(cls, parts: list[Ranked]) -> Ranked:
        """The parts' rows one after the other (grouped if each part's groups follow the
        previous part's)."""
        if not parts:
            return cls.empty()
        return cls(
            group=np.concatenate([p.group for p in parts]),
            product=np.concatenate([p.product for p in parts]),
            score=np.concatenate([p.score for p in parts]),
        )

    def taken(self, rows: npt.NDArray[np.bool_] | IntArray | slice) -> Ranked:
        """The rows picked by a mask, positions or a slice."""
        return Ranked(group=self.group[rows], product=self.product[rows], score=self.score[rows])

    def of_group(self, group: int) -> Ranked:
        """One group's rows."""
        start, stop = np.searchsorted(self.group, [group, group + 1])
        return self.taken(slice(int(start), int(stop)))

    def regrouped(self, chosen: IntArray) -> Ranked:
        """The rows of the chosen groups, numbered by their position in `chosen` (ascending)."""
        position, known = positions(chosen, self.group)
        return Ranked(group=position[known], product=self.product[known], score=self.score[known])

    def copied_to(self, owner: IntArray) -> Ranked:
        """Each position's copy of the rows of the group `owner` names for it (-1: none),
        grouped by position."""
        starts = np.searchsorted(self.group, owner, side="left")
        stops = np.searchsorted(self.group, owner, side="right")
        copy, rows = slices(starts, np.where(owner >= 0, stops - starts, 0))
        return Ranked(group=copy, product=self.product[rows], score=self.score[rows])


@dataclass(frozen=True)
class Rules:
    k: int = 10
    max_per_category: int | None = None
    include_interacted: bool = False
    neighbours_per_event: int = NEIGHBOURS_PER_EVENT
    # Name the history products behind each personalised item (the evaluation needs no reasons).
    explain: bool = True
    # With include_interacted: how much the visitor's own repeat purchases count against the
    # neighbours (both scaled to the visitor's best = 1 first).
    repeat_weight: float = 0.0
    # A requested category's ids (with its sub-categories'): the personalised items are
    # limited to them. None: every category.
    personalised_categories: tuple[int, ...] | None = None
    # How much the live (session) candidates count against the personalised ones, both
    # scaled to the visitor's best = 1 first: against a history's neighbours, and against a
    # learned list or buy-again repeats.
    live_weight: float = 0.0
    live_weight_nightly: float = 0.0


@dataclass(frozen=True)
class Live:
    """What each visitor does now. `candidates` (grouped by visitor index) are scored from
    their current session, `anchor` names the session product that brought each (-1: none);
    the basket rows' products are in their cart now and never suggested."""

    candidates: Ranked
    anchor: IntArray
    basket_visitor: IntArray
    basket_product: IntArray

    @classmethod
    def empty(cls) -> Live:
        nothing = np.empty(0, dtype=np.int64)
        return cls(Ranked.empty(), nothing, nothing.copy(), nothing.copy())


@dataclass(frozen=True)
class Recommendations:
    """Rows ordered by visitor index, then rank. `because` holds the history products that
    brought a personalised item (-1 padded); `strategy` is one Tier per visitor (the tier that
    decided the list; -1 when nothing could be recommended)."""

    visitor: IntArray
    product: IntArray
    score: FloatArray
    tier: npt.NDArray[np.int8]
    category: IntArray
    because: IntArray
    strategy: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.product)

    def lists(self, visitor_count: int, k: int) -> IntArray:
        """A (visitor_count, k) matrix of recommended product ids, -1 padded."""
        matrix = np.full((visitor_count, k), -1, dtype=np.int64)
        rank = rank_within(self.visitor)
        keep = rank < k
        matrix[self.visitor[keep], rank[keep]] = self.product[keep]
        return matrix
