from __future__ import annotations

import numpy as np
import pytest

from recommender.algorithms.merchandising import (
    Merchandising,
    Prices,
    Rule,
    RuleKind,
    conflicts,
    merchandise,
    preferred_categories,
)
from recommender.algorithms.tiered import Catalog, Histories, Ranked, Rules, Tier, recommend
from recommender.tests.algorithms.test_tiered import BY_CATEGORY, GLOBAL, NEIGHBOURS

# Products 1-8: 1-4 in category 10, 5-6 in 20, 7 in 21 (a sub-category of 20 for the rules),
# 8 out of stock.
CATALOG = Catalog(
    product=np.arange(1, 9),
    category=np.array([10, 10, 10, 10, 20, 20, 21, 30]),
    available=np.array([True] * 7 + [False]),
)
PRICES = Prices(product=np.arange(1, 9), price=np.array([5.0, 10, 15, 20, 25, 30, 35, 40]))


def lists(*orders: list[int]) -> Ranked:
    """One ranked list per group, best first, scores falling."""
    group = np.concatenate([np.full(len(o), g) for g, o in enumerate(orders)]).astype(np.int64)
    product = np.concatenate([np.array(o, dtype=np.int64) for o in orders])
    score = np.concatenate([np.linspace(1, 0.1, len(o)) for o in orders])
    return Ranked(group=group, product=product, score=score)


def applied(ranked: Ranked, *rules: Rule, groups: int = 1, **options: object) -> list[list[int]]:
    done = merchandise(
        ranked,
        groups=np.arange(groups, dtype=np.int64),
        catalog=CATALOG,
        merchandising=Merchandising(rules=rules, prices=PRICES, **options),  # type: ignore[arg-type]
    )
    return [done.product[done.group == g].tolist() for g in range(groups)]


def test_no_rules_keep_the_ranked_order():
    assert applied(lists([4, 3, 2, 1])) == [[4, 3, 2, 1]]


@pytest.mark.parametrize(
    ("target", "hidden"),
    [
        ({"product": 3}, {3}),
        ({"categories": (20, 21)}, {5, 6, 7}),
        ({"price_min": 10.0, "price_max": 20.0}, {2, 3, 4}),
        ({"price_min": 30.0}, {6, 7}),
    ],
    ids=["product", "category with sub-category", "price range", "open price range"],
)
def test_a_hidden_target_never_appears(target, hidden):
    shown = applied(lists([7, 6, 5, 4, 3, 2, 1]), Rule(RuleKind.HIDE, **target))
    assert shown == [[p for p in [7, 6, 5, 4, 3, 2, 1] if p not in hidden]]


def test_a_boost_moves_a_product_by_its_strength_without_forcing_it_to_the_top():
    ranked = lists([1, 2, 3, 4, 5, 6, 7])
    # The last of seven (relevance 1/7) + 0.5 passes the rows at or below 0.643: 4, 5, 6.
    assert applied(ranked, Rule(RuleKind.BOOST, product=7, strength=0.5)) == [[1, 2, 3, 7, 4, 5, 6]]
    assert applied(ranked, Rule(RuleKind.BOOST, product=7, strength=1.0)) == [[7, 1, 2, 3, 4, 5, 6]]


def test_a_bury_moves_a_product_down_by_its_strength():
    ranked = lists([1, 2, 3, 4, 5, 6, 7])
    assert applied(ranked, Rule(RuleKind.BOOST, product=1, strength=-0.5)) == [
        [2, 3, 4, 1, 5, 6, 7]
    ]
    assert applied(ranked, Rule(RuleKind.BOOST, categories=(10,), strength=-1.0)) == [
        [5, 6, 7, 1, 2, 3, 4]
    ]


def test_a_pin_takes_its_position_whether_or_not_the_list_held_it():
    ranked = lists([1, 2, 3, 4], [4, 3])
    pinned = applied(ranked, Rule(RuleKind.PIN, product=6, position=2), groups=3)
    assert pinned == [[1, 6, 2, 3, 4], [4, 6, 3], [6]]
    moved = applied(ranked, Rule(RuleKind.PIN, product=4, position=1), groups=2)
    assert moved == [[4, 1, 2, 3], [4, 3]]


def test_a_pin_beyond_a_short_list_lands_at_its_end_and_an_unavailable_one_is_not_shown():
    ranked = lists([1, 2])
    assert applied(ranked, Rule(RuleKind.PIN, product=6, position=9)) == [[1, 2, 6]]
    assert applied(ranked, Rule(RuleKind.PIN, product=8, position=1)) == [[1, 2]]


def test_conflicts_hide_beats_pin_beats_boost_and_the_newer_pin_wins():
    ranked = lists([1, 2, 3, 4, 5])
    hide_beats_pin = (
        Rule(RuleKind.PIN, product=6, position=1, rank=2),
        Rule(RuleKind.HIDE, categories=(20,), rank=1),
    )
    assert applied(ranked, *hide_beats_pin) == [[1, 2, 3, 4]]  # 5 is in category 20 too
    pin_beats_boost = (
        Rule(RuleKind.PIN, product=5, position=2),
        Rule(RuleKind.BOOST, product=5, strength=1.0),
    )
    assert applied(ranked, *pin_beats_boost) == [[1, 5, 2, 3, 4]]
    two_pins = (
        Rule(RuleKind.PIN, product=6, position=1, rank=1),
        Rule(RuleKind.PIN, product=7, position=1, rank=5),
    )
    assert applied(ranked, *two_pins) == [[7, 1, 2, 3, 4, 5]]
    merchandising = Merchandising(rules=hide_beats_pin + two_pins, prices=PRICES)
    found = {(c.loser, c.reason, c.winner) for c in conflicts(merchandising, CATALOG)}
    assert found == {(0, "hidden", 1), (2, "hidden", 1)}  # 7 is in 21, not hidden
    merchandising = Merchandising(rules=two_pins, prices=PRICES)
    assert [(c.loser, c.reason, c.winner) for c in conflicts(merchandising, CATALOG)] == [
        (0, "position", 1)
    ]


def test_the_preferred_categories_of_each_visitor_are_boosted():
    histories = Histories(
        visitor=np.array([0, 0, 1]), product=np.array([5, 6, 1]), weight=np.array([1.0, 3, 1])
    )
    preferred = preferred_categories(histories, CATALOG, 1)
    assert list(zip(preferred.group.tolist(), preferred.product.tolist(), strict=True)) == [
        (0, 20),
        (1, 10),
    ]
    done = merchandise(
        lists([1, 2, 3, 5], [5, 6, 1]),
        groups=np.arange(2),
        catalog=CATALOG,
        merchandising=Merchandising(preferred_boost=1.0),
        preferred=preferred,
    )
    assert done.product[done.group == 0].tolist() == [5, 1, 2, 3]
    assert done.product[done.group == 1].tolist() == [1, 5, 6]


def test_recommend_applies_the_rules_before_cutting_the_list():
    history = Histories(visitor=np.array([0]), product=np.array([1]), weight=np.array([1.0]))
    common = {
        "histories": history,
        "visitor_count": 1,
        "neighbours": NEIGHBOURS,
        "catalog": CATALOG,
        "category_trending": BY_CATEGORY,
        "global_trending": GLOBAL,
        "rules": Rules(k=3),
    }
    plain = recommend(**common)  # type: ignore[arg-type]
    assert plain.product.tolist() == [2, 3, 1]
    ruled = recommend(
        **common,  # type: ignore[arg-type]
        merchandising=Merchandising(
            rules=(Rule(RuleKind.HIDE, product=2), Rule(RuleKind.PIN, product=7, position=1))
        ),
    )
    assert ruled.product.tolist() == [7, 3, 1]
    assert ruled.tier.tolist()[0] == Tier.FEATURED
    assert ruled.because[0].tolist() == [-1, -1]
