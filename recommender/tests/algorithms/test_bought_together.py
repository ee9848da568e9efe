from __future__ import annotations

import numpy as np

from recommender.algorithms.bought_together import basket_matrix
from recommender.algorithms.events import PURCHASE, SECONDS_PER_DAY, VIEW, EventArrays
from recommender.algorithms.item_similarity import item_neighbours


def events(rows: list[tuple[int, int, int, float]]) -> EventArrays:
    visitor, product, kind, day = zip(*rows, strict=True)
    return EventArrays(
        visitor=np.array(visitor, dtype=np.int64),
        product=np.array(product, dtype=np.int64),
        event_type=np.array(kind, dtype=np.int8),
        timestamp=np.array(day, dtype=np.float64) * SECONDS_PER_DAY,
    )


def test_a_basket_is_one_visitor_s_purchases_of_one_day_each_product_once():
    baskets = basket_matrix(
        events(
            [
                (1, 10, PURCHASE, 0.1),
                (1, 11, PURCHASE, 0.2),
                (1, 11, PURCHASE, 0.3),  # bought twice: still one basket
                (1, 12, VIEW, 0.2),  # only viewed
                (1, 12, PURCHASE, 3.0),  # another day: another basket
                (2, 10, PURCHASE, 0.1),
            ]
        )
    )
    assert baskets.matrix.shape == (3, 3)
    assert baskets.product_ids.tolist() == [10, 11, 12]
    assert sorted(map(tuple, baskets.matrix.toarray().tolist())) == [
        (0.0, 0.0, 1.0),
        (1.0, 0.0, 0.0),
        (1.0, 1.0, 0.0),
    ]


def test_products_bought_in_the_same_baskets_are_neighbours_counted_in_baskets():
    # Tea and teapot go together in three orders; the mug shares only one with the teapot.
    rows = []
    for visitor in (1, 2, 3):
        rows += [(visitor, 10, PURCHASE, 1.0), (visitor, 11, PURCHASE, 1.0)]
    rows += [(4, 11, PURCHASE, 2.0), (4, 12, PURCHASE, 2.0), (5, 12, PURCHASE, 2.0)]
    neighbours = item_neighbours(basket_matrix(events(rows)), top_k=5, min_common_visitors=2)
    assert list(zip(neighbours.product.tolist(), neighbours.neighbour.tolist(), strict=True)) == [
        (10, 11),
        (11, 10),
    ]
    assert neighbours.co_occurrence.tolist() == [3, 3]
    assert np.isclose(neighbours.score[0], 3 / np.sqrt(3 * 4))
