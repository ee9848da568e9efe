from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.algorithms import live
from recommender.algorithms.evaluation import EvaluationConfig, Recommender, evaluate
from recommender.algorithms.events import PURCHASE, SECONDS_PER_DAY, VIEW, EventArrays
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.live import (
    GUESTS,
    LIVE_ROWS,
    RETURNING,
    RETURNING_ALL,
    live_cases,
    prior_events,
    relevant_pairs,
)
from recommender.algorithms.tiered import Catalog
from recommender.tests.algorithms.stores import events

DAY = SECONDS_PER_DAY
SPLIT = 100 * DAY
PRODUCTS = np.arange(1, 41, dtype=np.int64)
CATALOG = Catalog(
    product=PRODUCTS, category=PRODUCTS % 4, available=np.ones(len(PRODUCTS), dtype=np.bool_)
)


def order(visitor: int, products: list[int], at: float) -> list[tuple[int, int, int, float]]:
    return [(visitor, product, PURCHASE, at) for product in products]


def kits(seed: int = 0) -> list[tuple[int, int, int, float]]:
    """Shoppers buy kits: four products that go together (1-4, 5-8, ...), in random order."""
    rng = np.random.default_rng(seed)
    rows = []
    for visitor in range(1, 301):
        for day in np.sort(rng.uniform(0, 110, size=2)):
            first = int(rng.integers(0, 10)) * 4 + 1
            rows += order(visitor, list(rng.permutation(np.arange(first, first + 4))), day * DAY)
    return rows


def test_an_order_of_four_or_more_is_split_in_half_in_recorded_order():
    log = events(
        *order(1, [5, 6, 7, 8, 9], SPLIT + 10),
        *order(2, [1, 2, 3], SPLIT + 20),  # too small
        *order(1, [1, 2, 3, 4], SPLIT - DAY),  # before the test period
        *order(3, [9, 10, 11, 12], SPLIT + 30),
    )
    cases = live_cases(log, split_at=SPLIT, until=SPLIT + DAY, max_cases=10)
    assert cases.visitor.tolist() == [1, 3]
    assert cases.returning.tolist() == [True, False]
    assert cases.basket[1][cases.basket[0] == 0].tolist() == [5, 6]
    assert cases.rest[1][cases.rest[0] == 0].tolist() == [7, 8, 9]


def test_a_case_sees_nothing_from_its_own_moment_on():
    log = events(
        *order(1, [1, 2], SPLIT - DAY),
        *order(1, [5, 6, 7, 8], SPLIT + 10),
        (1, 30, VIEW, SPLIT + 11),
        (1, 31, VIEW, SPLIT + DAY / 2),
    )
    cases = live_cases(log, split_at=SPLIT, until=SPLIT + DAY, max_cases=10)
    prior = prior_events(log, cases)
    assert sorted(prior.product.tolist()) == [1, 2]
    # New products only: what the returning visitor bought before is not relevant.
    _, relevant = relevant_pairs(cases, RETURNING, events(*order(0, [7], 0)))
    assert relevant[1].tolist() == [8]
    _, every = relevant_pairs(cases, RETURNING_ALL, prior)
    assert every[1].tolist() == [7, 8]


def live_figures(log: EventArrays):
    return evaluate(
        log,
        catalog=CATALOG,
        content=Neighbours.concatenate([]),
        now=SPLIT + 10 * DAY,
        config=EvaluationConfig(
            test_days=10,
            ks=(5,),
            recommenders=(Recommender("tiered", live_weight=3.0),),
            min_common_visitors=1,
        ),
    )


def test_the_live_protocol_scores_the_served_lists_beside_the_peers():
    result = live_figures(events(*kits()))
    assert result.live_cases > 20
    served = result.results["tiered"]
    for row in (GUESTS, RETURNING_ALL):
        assert served[row].visitors > 0
        # The basket's own kit is what the rest of the order is: a session method finds it.
        assert served[row].figures[("hit_rate", 5)] > 0.9
        assert (
            served[row].figures[("ndcg", 5)]
            > result.results["popularity"][row].figures[("ndcg", 5)]
        )
    assert {"item_knn", "session_knn", "basket_ease", "customer_ease"} <= set(result.results)
    assert set(served) >= {"all", "discovery", *[r for r in LIVE_ROWS if r != RETURNING]}


def test_no_later_event_changes_the_live_figures():
    rows = kits()
    result = live_figures(events(*rows))
    last_case = max(moment for *_, moment in rows if moment < SPLIT + 10 * DAY)
    assert last_case + 60 + 50 < SPLIT + 10 * DAY  # the later views are in the test period
    # Views after the last case, all of kits the shoppers never bought together.
    later = [
        (500 + v, product, VIEW, last_case + 60 + v) for v in range(50) for product in (1, 5, 9)
    ]
    again = live_figures(events(*rows, *later))
    for row in (GUESTS, RETURNING_ALL):
        assert again.results["tiered"][row] == result.results["tiered"][row]
        assert again.results["session_knn"][row] == result.results["session_knn"][row]


def test_the_peers_figures_do_not_depend_on_how_many_cases_are_scored_at_once(monkeypatch):
    whole = live_figures(events(*kits()))
    # One case per chunk: a large catalog's peers are scored a few cases at a time.
    monkeypatch.setattr(live, "PEER_CHUNK_CELLS", 1)
    chunked = live_figures(events(*kits()))
    for name in ("popularity", "item_knn", "session_knn", "basket_ease", "customer_ease"):
        assert chunked.results[name] == whole.results[name]


def test_the_ease_peers_product_is_scipys_bit_for_bit_with_columns_in_blocks(monkeypatch):
    rng = np.random.default_rng(3)
    # Column-major float32, as the solve returns the weights; blocks that do not divide them.
    weights = np.asfortranarray(rng.standard_normal((60, 60)).astype(np.float32))
    cases = sp.csr_matrix((rng.random((9, 60)) < 0.2).astype(np.float64))
    monkeypatch.setattr(live, "WEIGHT_COLUMNS", 7)
    assert np.array_equal(live._times_weights(cases, weights), np.asarray(cases @ weights))
