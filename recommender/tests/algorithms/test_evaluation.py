from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.algorithms.evaluation import (
    ALL_PURCHASES,
    DISCOVERY,
    EvaluationConfig,
    Recommender,
    evaluate,
    ranking_metrics,
)
from recommender.algorithms.events import PURCHASE, SECONDS_PER_DAY, VIEW, EventArrays
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.tiered import Catalog


def test_metrics_on_a_hand_computed_case():
    # Visitor 0: relevant {1, 2}, hits at ranks 1 and 3. Visitor 1: relevant {9}, no hit.
    recommended = np.array([[1, 5, 2, 6], [3, 4, -1, -1]])
    figures = ranking_metrics(recommended, np.array([0, 0, 1]), np.array([1, 2, 9]), ks=[1, 3])
    assert figures[("recall", 1)] == pytest.approx((1 / 2 + 0) / 2)
    assert figures[("recall", 3)] == pytest.approx((2 / 2 + 0) / 2)
    assert figures[("precision", 3)] == pytest.approx((2 / 3 + 0) / 2)
    assert figures[("hit_rate", 1)] == pytest.approx(0.5)
    dcg = 1 + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3)
    assert figures[("ndcg", 3)] == pytest.approx((dcg / idcg) / 2)
    assert figures[("ndcg", 1)] == pytest.approx(0.5)
    # AP@3 of visitor 0: (1/1 + 2/3) / min(2, 3).
    assert figures[("map", 3)] == pytest.approx(((1 + 2 / 3) / 2) / 2)
    assert figures[("map", 1)] == pytest.approx(0.5)


def test_metrics_of_no_visitors_are_zero():
    figures = ranking_metrics(np.empty((0, 5), dtype=np.int64), np.empty(0, dtype=np.int64),
                              np.empty(0, dtype=np.int64), ks=[5])  # fmt: skip
    assert set(figures.values()) == {0.0}


DAY = SECONDS_PER_DAY
NOW = 100 * DAY


def log(*rows: tuple[int, int, int, float]) -> EventArrays:
    """Rows of (visitor, product, type, days before NOW)."""
    visitor, product, kind, days = zip(*rows, strict=True)
    return EventArrays(
        visitor=np.array(visitor, dtype=np.int64),
        product=np.array(product, dtype=np.int64),
        event_type=np.array(kind, dtype=np.int8),
        timestamp=NOW - np.array(days, dtype=np.float64) * DAY,
    )


CATALOG = Catalog(
    product=np.array([1, 2, 3, 4]),
    category=np.array([10, 10, 20, 20]),
    available=np.ones(4, dtype=np.bool_),
)


def test_evaluation_trains_on_the_past_and_scores_future_purchases():
    events = log(
        # Training: visitors 1 and 2 both view 1 and 2 (so 1 ~ 2); 3 is bought by 3 and 4.
        (1, 1, VIEW, 20), (1, 2, VIEW, 20), (2, 1, VIEW, 15), (2, 2, VIEW, 15),
        (3, 3, PURCHASE, 9), (4, 3, PURCHASE, 8), (5, 1, VIEW, 10),
        # Test: visitor 5 buys 2 (neighbour of what it viewed), visitor 1 re-buys 1.
        (5, 2, PURCHASE, 2), (1, 1, PURCHASE, 1),
    )  # fmt: skip
    config = EvaluationConfig(
        ks=(1, 2),
        recommenders=(
            Recommender("tiered"),
            Recommender("popularity", behavioural=False, content=False, category_fill=False),
            Recommender("item_knn", content=False, category_fill=False, global_fill=False),
        ),
    )
    empty = Neighbours.concatenate([])
    result = evaluate(events, catalog=CATALOG, content=empty, now=NOW, config=config)
    assert result.train_events == 7
    assert result.test_events == 2
    tiered = result.results["tiered"]
    assert tiered[ALL_PURCHASES].visitors == 2
    # Visitor 5 gets 2 first (its neighbour). Visitor 1 interacted with both 1 and 2, so the
    # personalised tier is empty and trending in its category (10) fills: 1 is the only
    # category-10 product with events in the 7 days before the split.
    assert tiered[ALL_PURCHASES].figures[("hit_rate", 1)] == pytest.approx(1.0)
    # Discovery leaves visitor 1 out: 1 was interacted with before the split.
    assert tiered[DISCOVERY].visitors == 1
    assert tiered[DISCOVERY].figures[("recall", 1)] == pytest.approx(1.0)
    # Popularity recommends 3 (two purchases in the last 7 days of training) to everyone.
    assert result.results["popularity"][ALL_PURCHASES].figures[("hit_rate", 1)] == 0.0
    assert result.results["popularity"][ALL_PURCHASES].coverage == pytest.approx(2 / 4)
    assert result.results["item_knn"][DISCOVERY].figures[("hit_rate", 1)] == 1.0


def test_each_contender_is_announced_before_its_figures_and_counted_after():
    events = log((1, 1, VIEW, 20), (1, 2, VIEW, 20), (2, 1, VIEW, 15), (2, 2, VIEW, 15),
                 (5, 1, VIEW, 10), (5, 2, PURCHASE, 2), (1, 1, PURCHASE, 1))  # fmt: skip
    names = ("tiered", "popularity", "item_knn", "content")
    config = EvaluationConfig(
        ks=(2,),
        recommenders=(
            Recommender(names[0]),
            Recommender(names[1], behavioural=False, content=False, category_fill=False),
            Recommender(names[2], content=False, category_fill=False, global_fill=False),
            Recommender(names[3], behavioural=False),
        ),
        live=False,
    )
    reported: list[tuple[int, int, str | None]] = []

    def progress(done: int, total: int, /, *, phase: str | None = None) -> None:
        reported.append((done, total, phase))

    result = evaluate(events, catalog=CATALOG, content=Neighbours.concatenate([]), now=NOW,
                      config=config, progress=progress)  # fmt: skip
    # Scored two at a time in threads, yet reported one after another, in the config's order.
    assert reported == [
        step for n, name in enumerate(names) for step in ((n, 4, name), (n + 1, 4, None))
    ]
    assert list(result.results) == list(names)


def test_evaluation_without_test_purchases_evaluates_nobody():
    events = log((1, 1, VIEW, 20), (1, 2, VIEW, 2))
    config = EvaluationConfig(ks=(5,), recommenders=(Recommender("tiered"),))
    result = evaluate(events, catalog=CATALOG, content=Neighbours.concatenate([]), now=NOW,
                      config=config)  # fmt: skip
    assert result.results["tiered"][ALL_PURCHASES].visitors == 0
    assert result.results["tiered"][ALL_PURCHASES].figures[("recall", 5)] == 0.0


def test_many_eligible_visitors_are_sampled_reproducibly():
    rows = [(visitor, 1 + visitor % 4, PURCHASE, 1.0) for visitor in range(50)]
    events = log(*rows, (0, 2, VIEW, 20))
    config = EvaluationConfig(ks=(5,), recommenders=(Recommender("tiered"),), max_visitors=10)
    first = evaluate(events, catalog=CATALOG, content=Neighbours.concatenate([]), now=NOW,
                     config=config)  # fmt: skip
    again = evaluate(events, catalog=CATALOG, content=Neighbours.concatenate([]), now=NOW,
                     config=config)  # fmt: skip
    assert first.eligible_visitors == 50
    assert first.results["tiered"][ALL_PURCHASES].visitors == 10
    assert first.results == again.results
