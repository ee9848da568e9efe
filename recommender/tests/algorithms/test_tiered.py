from __future__ import annotations

import numpy as np
import pytest

from recommender.algorithms.events import ADD_TO_CART, PURCHASE, VIEW
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.tiered import (
    NO_CATEGORY,
    Catalog,
    Histories,
    Live,
    Ranked,
    Recommendations,
    Rules,
    Tier,
    recommend,
)
from recommender.tests.algorithms.stores import events

# Products 1-6; 1, 2 in category 10, 3, 4 in 20, 5, 6 in 30; 6 is out of stock.
CATALOG = Catalog(
    product=np.array([1, 2, 3, 4, 5, 6]),
    category=np.array([10, 10, 20, 20, 30, 30]),
    available=np.array([True, True, True, True, True, False]),
)
NEIGHBOURS = Neighbours(
    product=np.array([1, 1, 3, 3]),
    neighbour=np.array([2, 3, 4, 2]),
    score=np.array([0.9, 0.5, 0.8, 0.1]),
    co_occurrence=np.array([2, 2, 2, 2]),
)
# Global trending: 5 > 4 > 3 > 2 > 1 > 6.
TRENDING_PRODUCTS = np.array([5, 4, 3, 2, 1, 6])
TRENDING_SCORES = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
GLOBAL = Ranked.of(TRENDING_PRODUCTS, TRENDING_SCORES)
BY_CATEGORY = Ranked.of(
    TRENDING_PRODUCTS, TRENDING_SCORES, group=CATALOG.category_of(TRENDING_PRODUCTS)
)


def run(histories: Histories, visitors: int, **rules: object) -> Recommendations:
    return recommend(
        histories=histories,
        visitor_count=visitors,
        neighbours=NEIGHBOURS,
        catalog=CATALOG,
        category_trending=BY_CATEGORY,
        global_trending=GLOBAL,
        rules=Rules(**rules),  # type: ignore[arg-type]
    )


def of_visitor(result: Recommendations, index: int) -> list[tuple[int, float, int]]:
    rows = result.visitor == index
    return [
        (int(p), round(float(s), 6), int(t))
        for p, s, t in zip(result.product[rows], result.score[rows], result.tier[rows], strict=True)
    ]


def test_history_keeps_each_visitors_latest_events_newest_first():
    history = Histories.from_events(
        events((7, 1, VIEW, 1.0), (8, 5, VIEW, 2.0), (7, 3, PURCHASE, 3.0), (7, 2, VIEW, 0.5)),
        np.array([9, 7, 8]),
        length=2,
    )
    assert history.visitor.tolist() == [1, 1, 2]
    assert history.product.tolist() == [3, 1, 5]
    assert history.weight.tolist() == [5.0, 1.0, 1.0]


def test_personalised_scores_sum_similarity_times_event_weight():
    # Visitor 0 viewed 1 and bought 3: 2 = 0.9 x 1 + 0.1 x 5, 4 = 0.8 x 5; 3 was interacted.
    history = Histories(np.array([0, 0]), np.array([3, 1]), np.array([5.0, 1.0]))
    result = run(history, 1, k=2)
    assert of_visitor(result, 0) == [(4, 4.0, Tier.PERSONALISED), (2, 1.4, Tier.PERSONALISED)]
    assert result.strategy.tolist() == [Tier.PERSONALISED]
    # The reason names the history products that brought it, the larger contribution first.
    assert result.because.tolist() == [[3, -1], [1, 3]]


def test_include_interacted_lets_history_products_back_in():
    history = Histories(np.array([0, 0]), np.array([1, 2]), np.array([1.0, 1.0]))
    personalised = [p for p, _, t in of_visitor(run(history, 1, k=2), 0) if t == Tier.PERSONALISED]
    assert personalised == [3]
    result = run(history, 1, k=2, include_interacted=True)
    assert of_visitor(result, 0) == [(2, 0.9, Tier.PERSONALISED), (3, 0.5, Tier.PERSONALISED)]


def test_short_personalised_list_is_kept_and_filled_from_the_visitors_category_then_global():
    # Viewing 3 (category 20) brings 4 and 2: 2 of k=5 is under half, so trending fills.
    history = Histories(np.array([0]), np.array([3]), np.array([1.0]))
    result = run(history, 1, k=5)
    assert of_visitor(result, 0) == [
        (4, 0.8, Tier.PERSONALISED),
        (2, 0.1, Tier.PERSONALISED),
        (3, 4.0, Tier.CATEGORY_TRENDING),  # trending in 20; only the personalised tier excludes
        (5, 6.0, Tier.GLOBAL_TRENDING),
        (1, 2.0, Tier.GLOBAL_TRENDING),  # 6 is out of stock
    ]
    assert result.strategy.tolist() == [Tier.CATEGORY_TRENDING]


def test_visitor_without_history_gets_global_trending_and_requested_category_first():
    empty = Histories(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    result = run(empty, 1, k=2)
    assert of_visitor(result, 0) == [(5, 6.0, Tier.GLOBAL_TRENDING), (4, 5.0, Tier.GLOBAL_TRENDING)]
    assert result.strategy.tolist() == [Tier.GLOBAL_TRENDING]
    asked = recommend(
        histories=empty,
        visitor_count=1,
        neighbours=NEIGHBOURS,
        catalog=CATALOG,
        category_trending=BY_CATEGORY,
        global_trending=GLOBAL,
        rules=Rules(k=3),
        requested_category=np.array([10]),
    )
    assert [p for p, _, _ in of_visitor(asked, 0)] == [2, 1, 5]
    assert asked.strategy.tolist() == [Tier.CATEGORY_TRENDING]


def test_max_per_category_caps_the_whole_list():
    history = Histories(np.array([0, 0]), np.array([3, 1]), np.array([5.0, 1.0]))
    result = run(history, 1, k=4, max_per_category=1)
    products = [p for p, _, _ in of_visitor(result, 0)]
    assert products == [4, 2, 5]  # one of 20, one of 10, one of 30; 6 unavailable: only 3
    assert len(set(CATALOG.category_of(np.array(products)).tolist())) == 3


def test_unavailable_products_are_never_recommended():
    neighbours = Neighbours(np.array([1]), np.array([6]), np.array([1.0]), np.array([5]))
    result = recommend(
        histories=Histories(np.array([0]), np.array([1]), np.array([1.0])),
        visitor_count=1,
        neighbours=neighbours,
        catalog=CATALOG,
        category_trending=Ranked.empty(),
        global_trending=Ranked.empty(),
        rules=Rules(k=3),
    )
    assert len(result) == 0
    assert result.strategy.tolist() == [-1]


def test_many_visitors_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    rows = [(int(v), int(p), int(t), float(i)) for i, (v, p, t) in enumerate(
        zip(rng.integers(0, 6, 60), rng.integers(1, 7, 60), rng.integers(0, 3, 60), strict=True)
    )]  # fmt: skip
    log = events(*rows)
    visitors = np.arange(6)
    together = run(Histories.from_events(log, visitors, length=5), 6, k=4, max_per_category=2)
    for index, visitor in enumerate(visitors):
        alone = run(Histories.from_events(log, np.array([visitor]), length=5), 1, k=4,
                    max_per_category=2)  # fmt: skip
        assert of_visitor(together, index) == of_visitor(alone, 0)
        assert together.strategy[index] == alone.strategy[0]


def test_lists_pads_short_lists():
    result = run(Histories(np.array([1]), np.array([3]), np.array([1.0])), 2, k=2)
    matrix = result.lists(2, 3)
    assert matrix.tolist() == [[5, 4, -1], [4, 2, -1]]


def test_unknown_products_have_no_category():
    assert CATALOG.category_of(np.array([2, 99])).tolist() == [10, NO_CATEGORY]
    assert CATALOG.is_available(np.array([5, 6, 99])).tolist() == [True, False, False]


@pytest.mark.parametrize("kind", [ADD_TO_CART, PURCHASE])
def test_stronger_events_pull_harder(kind):
    # Viewing 1 once and adding/buying 3 once: 4 (from 3) beats 2's view-driven score.
    history = Histories.from_events(events((0, 1, VIEW, 2.0), (0, 3, kind, 1.0)), np.array([0]))
    assert of_visitor(run(history, 1, k=1), 0)[0][0] == 4


def test_personalised_categories_limit_the_personalised_items_only():
    # Visitor 0 viewed product 1, whose neighbours are 2 (category 10) and 3 (category 20).
    history = Histories.from_events(events((0, 1, VIEW, 1.0)), np.array([0]))
    everywhere = run(history, 1, k=4)
    only_20 = run(history, 1, k=4, personalised_categories=(20,))
    personalised = [p for p, _, tier in of_visitor(everywhere, 0) if tier == Tier.PERSONALISED]
    assert sorted(personalised) == [2, 3]
    assert [p for p, _, tier in of_visitor(only_20, 0) if tier == Tier.PERSONALISED] == [3]
    # The fills still complete the list.
    assert len(of_visitor(only_20, 0)) == 4


def live(*rows: tuple[int, int, float, int], basket: tuple[tuple[int, int], ...] = ()) -> Live:
    """Live candidates as (visitor, product, score, anchor) rows, and basket (visitor, product)."""
    visitor, product, score, anchor = zip(*rows, strict=True) if rows else ((), (), (), ())
    ranked = Ranked.of(np.array(product, dtype=np.int64), np.array(score, dtype=np.float64),
                       group=np.array(visitor, dtype=np.int64))  # fmt: skip
    order = np.lexsort((np.array(product), -np.array(score), np.array(visitor)))
    return Live(
        candidates=ranked,
        anchor=np.array(anchor, dtype=np.int64)[order],
        basket_visitor=np.array([v for v, _ in basket], dtype=np.int64),
        basket_product=np.array([p for _, p in basket], dtype=np.int64),
    )


def with_live(history: Histories, now: Live, **rules: object) -> Recommendations:
    return recommend(
        histories=history,
        visitor_count=1,
        neighbours=NEIGHBOURS,
        catalog=CATALOG,
        category_trending=BY_CATEGORY,
        global_trending=GLOBAL,
        rules=Rules(**rules),  # type: ignore[arg-type]
        live=now,
    )


def test_live_candidates_join_the_personalised_tier_with_their_weight():
    history = Histories(np.array([0]), np.array([1]), np.array([1.0]))  # brings 2 (0.9), 3 (0.5)
    now = live((0, 4, 1.0, 1))  # the session says 4, anchored on product 1
    weak = with_live(history, now, k=3, live_weight=0.5)
    assert [p for p, _, _ in of_visitor(weak, 0)] == [2, 3, 4]
    strong = with_live(history, now, k=3, live_weight=2.0)
    assert next(p for p, _, _ in of_visitor(strong, 0)) == 4
    assert strong.because[0].tolist()[0] == 1  # its reason names the anchor
    ignored = with_live(history, now, k=3)  # no weight: the live part is not used
    assert of_visitor(ignored, 0) == of_visitor(run(history, 1, k=3), 0)


def test_the_basket_is_never_suggested_not_even_with_interacted_products_allowed():
    history = Histories(np.array([0, 0]), np.array([1, 2]), np.array([3.0, 1.0]))
    now = live((0, 2, 1.0, 1), basket=((0, 1),))
    for include in (False, True):
        shown = with_live(history, now, k=5, include_interacted=include, live_weight=1.0)
        assert 1 not in shown.product.tolist()  # in the basket
    allowed = with_live(history, now, k=5, include_interacted=True, live_weight=1.0)
    assert 2 in allowed.product.tolist()  # viewed, not in the basket


def test_a_list_the_personalised_tier_fills_shows_no_trending_product():
    history = Histories(np.array([0]), np.array([1]), np.array([1.0]))  # brings 2 (0.9), 3 (0.5)
    full = run(history, 1, k=2)
    assert [(p, t) for p, _, t in of_visitor(full, 0)] == [
        (2, Tier.PERSONALISED),
        (3, Tier.PERSONALISED),
    ]
    assert full.strategy.tolist() == [Tier.PERSONALISED]
    # Product 2 is in the basket: the list keeps its length, a trending product takes its place.
    emptied = [(p, t) for p, _, t in of_visitor(with_live(history, live(basket=((0, 2),)), k=2), 0)]
    assert emptied[0] == (3, Tier.PERSONALISED)
    assert len(emptied) == 2
    assert emptied[1][0] != 2
    assert emptied[1][1] != Tier.PERSONALISED
