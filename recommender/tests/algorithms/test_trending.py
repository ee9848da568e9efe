from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.algorithms.events import ADD_TO_CART, PURCHASE, SECONDS_PER_DAY, VIEW, EventArrays
from recommender.algorithms.trending import WINDOWS, TrendingWindow, trending_scores

NOW = 1_800_000_000.0
WEEK = TrendingWindow("7d", 7.0, 0.3)


def events(*rows: tuple[int, int, int, float]) -> EventArrays:
    """Rows of (visitor, product, type, days ago)."""
    if not rows:
        return EventArrays.empty()
    visitor, product, kind, days = zip(*rows, strict=True)
    return EventArrays(
        visitor=np.array(visitor, dtype=np.int64),
        product=np.array(product, dtype=np.int64),
        event_type=np.array(kind, dtype=np.int8),
        timestamp=NOW - np.array(days, dtype=np.float64) * SECONDS_PER_DAY,
    )


def test_windows_follow_the_specification():
    assert [(w.name, w.days, w.decay) for w in WINDOWS] == [("7d", 7, 0.3), ("30d", 30, 0.1)]


def test_score_is_the_decayed_weighted_sum():
    result = trending_scores(
        events((1, 10, VIEW, 0), (2, 10, ADD_TO_CART, 1), (3, 10, PURCHASE, 2.5)),
        now=NOW,
        window=WEEK,
    )
    expected = 1 + 3 * math.exp(-0.3) + 5 * math.exp(-0.75)
    assert result.product.tolist() == [10]
    assert result.score[0] == pytest.approx(expected)
    assert result.event_count.tolist() == [3]


def test_events_outside_the_window_or_in_the_future_do_not_count():
    result = trending_scores(
        events((1, 10, VIEW, 7.0), (1, 11, VIEW, 6.99), (1, 12, VIEW, -0.5)),
        now=NOW,
        window=WEEK,
    )
    assert result.product.tolist() == [11]


def test_best_first_and_ties_by_lower_id():
    result = trending_scores(
        events((1, 30, VIEW, 1), (1, 20, VIEW, 1), (1, 10, PURCHASE, 1)), now=NOW, window=WEEK
    )
    assert result.product.tolist() == [10, 20, 30]
    assert result.score[1] == result.score[2]


def test_a_recent_view_can_beat_an_old_purchase():
    result = trending_scores(
        events((1, 1, PURCHASE, 6), (2, 2, VIEW, 0), (3, 2, VIEW, 0)), now=NOW, window=WEEK
    )
    # 5 x e^-1.8 = 0.83 < 2
    assert result.product.tolist() == [2, 1]


def test_no_events_gives_an_empty_result():
    result = trending_scores(events(), now=NOW, window=WEEK)
    assert len(result) == 0
    assert result.score.dtype == np.float64
