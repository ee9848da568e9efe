import numpy as np

from recommender.algorithms.buy_again import repeat_scores
from recommender.algorithms.events import PURCHASE, SECONDS_PER_DAY, VIEW, EventArrays
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.tiered import Catalog, Histories, Ranked, Rules, recommend

NOW = 1_000 * SECONDS_PER_DAY


def events(rows: list[tuple[int, int, int, float]]) -> EventArrays:
    """(visitor, product, event type, days ago) rows."""
    visitor, product, kind, days = (np.array(column) for column in zip(*rows, strict=True))
    return EventArrays(
        visitor=visitor.astype(np.int64),
        product=product.astype(np.int64),
        event_type=kind.astype(np.int8),
        timestamp=NOW - days * SECONDS_PER_DAY,
    )


LOG = events([
    (7, 1, PURCHASE, 100), (7, 1, PURCHASE, 100), (7, 1, PURCHASE, 100),  # thrice, long ago
    (7, 2, PURCHASE, 1),  # once, yesterday
    (7, 3, VIEW, 0),  # only viewed
    (7, 4, PURCHASE, -1),  # after now: the future is not known
    (9, 5, PURCHASE, 10),
])  # fmt: skip


def test_repeat_scores_weigh_each_purchase_by_its_age():
    scores = repeat_scores(LOG, np.array([7, 9]), now=NOW, half_life_days=90)
    assert scores.group.tolist() == [0, 0, 1]
    assert scores.product.tolist() == [1, 2, 5]
    np.testing.assert_allclose(scores.score[:2], [3 * 0.5 ** (100 / 90), 0.5 ** (1 / 90)])
    # A short half-life puts recency before frequency.
    short = repeat_scores(LOG, np.array([7]), now=NOW, half_life_days=10)
    assert short.product.tolist() == [2, 1]


def test_repeats_join_the_personalised_tier_only_when_interacted_products_are_allowed():
    catalog = Catalog(
        product=np.arange(1, 6, dtype=np.int64),
        category=np.zeros(5, dtype=np.int64),
        available=np.array([True, True, True, False, True]),
    )
    repeats = repeat_scores(LOG, np.array([7]), now=NOW, half_life_days=90)
    empty_history = Histories(
        np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    )

    def listed(rules: Rules) -> list[int]:
        chosen = recommend(
            histories=empty_history,
            visitor_count=1,
            neighbours=Neighbours.concatenate([]),
            catalog=catalog,
            category_trending=Ranked.empty(),
            global_trending=Ranked.empty(),
            rules=rules,
            repeats=repeats,
        )
        return [int(product) for product in chosen.product]

    assert listed(Rules(k=5, include_interacted=True, repeat_weight=2)) == [1, 2]
    assert listed(Rules(k=5, include_interacted=False, repeat_weight=2)) == []
    assert listed(Rules(k=5, include_interacted=True, repeat_weight=0)) == []
