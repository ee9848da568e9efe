"""Trending: recent interest with exponential time decay.

score(product) = sum over the window's events of weight(type) x exp(-decay x days_ago),
with weights view 1, add to cart 3, purchase 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.algorithms.events import SECONDS_PER_DAY, EventArrays, FloatArray, IntArray


@dataclass(frozen=True)
class TrendingWindow:
    name: str
    days: float
    decay: float


WINDOWS = (TrendingWindow("7d", 7.0, 0.3), TrendingWindow("30d", 30.0, 0.1))


@dataclass(frozen=True)
class TrendingResult:
    """Products with at least one event in the window, best first (ties: lower id first)."""

    product: IntArray
    score: FloatArray
    event_count: IntArray

    def __len__(self) -> int:
        return len(self.product)


def trending_scores(events: EventArrays, *, now: float, window: TrendingWindow) -> TrendingResult:
    """Decayed, weighted event sums per product over the window ending at `now` (Unix seconds).

    Events in the future of `now` (clock skew, a replayed import) do not count.
    """
    days_ago = (now - events.timestamp) / SECONDS_PER_DAY
    in_window = (days_ago >= 0) & (days_ago < window.days)
    recent = events.select(in_window)
    if len(recent) == 0:
        return TrendingResult(
            product=np.empty(0, dtype=np.int64),
            score=np.empty(0, dtype=np.float64),
            event_count=np.empty(0, dtype=np.int64),
        )
    contribution = recent.weights() * np.exp(-window.decay * days_ago[in_window])
    products, position = np.unique(recent.product, return_inverse=True)
    score = np.bincount(position, weights=contribution, minlength=len(products)).astype(np.float64)
    count = np.bincount(position, minlength=len(products)).astype(np.int64)
    order = np.lexsort((products, -score))
    return TrendingResult(product=products[order], score=score[order], event_count=count[order])
