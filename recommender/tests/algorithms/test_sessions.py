from __future__ import annotations

import numpy as np

from recommender.algorithms.events import ADD_TO_CART, PURCHASE, VIEW
from recommender.algorithms.sessions import (
    SESSION_GAP_SECONDS,
    CurrentSessions,
    SessionConfig,
    SessionIndex,
    current_baskets,
    current_sessions,
    session_candidates,
    session_candidates_anchored,
    session_index,
    session_numbers,
)
from recommender.algorithms.tiered import Catalog
from recommender.tests.algorithms.stores import events

HOUR = 3600.0


def catalog(*products: int) -> Catalog:
    ids = np.array(sorted(products), dtype=np.int64)
    return Catalog(product=ids, category=ids // 10, available=np.ones(len(ids), dtype=np.bool_))


# Past sessions: tents go with sleeping bags and stoves; mugs with tea.
PAST = events(
    (1, 10, VIEW, 0), (1, 11, VIEW, 60), (1, 12, PURCHASE, 120),  # tent, bag, stove
    (2, 10, VIEW, HOUR), (2, 11, VIEW, HOUR + 60),  # tent, bag
    (3, 20, VIEW, 2 * HOUR), (3, 21, VIEW, 2 * HOUR + 60),  # mug, tea
    (4, 20, VIEW, 3 * HOUR), (4, 21, PURCHASE, 3 * HOUR + 30), (4, 12, VIEW, 3 * HOUR + 60),
)  # fmt: skip
INDEX = session_index(PAST, catalog(10, 11, 12, 20, 21), max_sessions=100)


def ask(*products: int, at: float = 10 * HOUR, config: SessionConfig | None = None):
    sessions = CurrentSessions(
        query=np.zeros(len(products), dtype=np.int64),
        product=np.array(products, dtype=np.int64),
        at=np.array([at]),
    )
    return sessions, session_candidates(INDEX, sessions, config or SessionConfig())


def others(ranked, *asked: int) -> list[int]:
    """The candidates besides the session's own products (those the caller leaves out)."""
    return [p for p in ranked.product.tolist() if p not in asked]


def test_a_gap_of_more_than_half_an_hour_starts_a_new_session():
    numbers = session_numbers(
        events((1, 1, VIEW, 0), (1, 2, VIEW, SESSION_GAP_SECONDS), (1, 3, VIEW, 2 * HOUR + 1))
    )
    assert numbers[0] == numbers[1] != numbers[2]


def test_the_index_holds_sessions_of_two_products_or_more_newest_last():
    alone = events((5, 10, VIEW, 0), (6, 10, VIEW, 0), (6, 11, VIEW, 5))
    index = session_index(alone, catalog(10, 11), max_sessions=10)
    assert len(index) == 1
    assert len(INDEX) == 4
    assert np.all(np.diff(INDEX.ended) >= 0)
    newest_two = session_index(PAST, catalog(10, 11, 12, 20, 21), max_sessions=2)
    assert newest_two.ended.tolist() == INDEX.ended[-2:].tolist()


def test_past_sessions_sharing_a_product_bring_their_other_products():
    _, ranked = ask(10)
    assert others(ranked, 10) == [11, 12]  # the bag is in both tent sessions
    assert 21 not in ranked.product.tolist()  # no session shares anything with a tent and tea


def test_the_last_product_of_the_session_weighs_most():
    _, tent_then_mug = ask(10, 20)
    _, mug_then_tent = ask(20, 10)
    assert others(tent_then_mug, 10, 20)[0] == 21
    assert others(mug_then_tent, 10, 20)[0] == 11


def test_sessions_that_ended_after_the_moment_asked_are_not_used():
    _, before_the_mugs = ask(20, at=2 * HOUR)
    assert len(before_the_mugs.product) == 0
    _, after_one = ask(20, at=3 * HOUR)
    assert after_one.product.tolist() == [20, 21]  # session 3 only: no stove yet


def test_a_candidate_is_anchored_on_the_session_product_that_brought_it():
    sessions, ranked = ask(10, 20)
    anchored, anchor = session_candidates_anchored(INDEX, sessions)
    # The same candidates as the batch search.
    assert anchored.product.tolist() == ranked.product.tolist()
    assert anchored.score.tolist() == ranked.score.tolist()
    anchors = dict(zip(anchored.product.tolist(), anchor.tolist(), strict=True))
    assert anchors[11] == 10
    assert anchors[21] == 20


def test_the_current_session_is_the_last_one_if_it_is_recent():
    history = events((7, 10, VIEW, 0), (7, 20, VIEW, 5 * HOUR), (7, 21, ADD_TO_CART, 5 * HOUR + 60))
    now = current_sessions(history, np.array([7]), now=5 * HOUR + 120)
    assert now.product.tolist() == [20, 21]
    later = current_sessions(history, np.array([7]), now=7 * HOUR)
    assert len(later.product) == 0


def test_the_basket_is_what_was_added_since_the_last_purchase():
    history = events(
        (7, 10, ADD_TO_CART, 0), (7, 10, PURCHASE, 10), (7, 11, ADD_TO_CART, 20),
        (7, 12, VIEW, 30), (8, 20, ADD_TO_CART, 0),
    )  # fmt: skip
    visitor, product = current_baskets(history, np.array([7, 8]))
    assert list(zip(visitor.tolist(), product.tolist(), strict=True)) == [(0, 11), (1, 20)]


def test_an_index_survives_its_bytes():
    again = SessionIndex.from_bytes(INDEX.to_bytes())
    assert (again.matrix != INDEX.matrix).nnz == 0
    assert again.product.tolist() == INDEX.product.tolist()
    assert again.category.tolist() == INDEX.category.tolist()
    assert again.ended.tolist() == INDEX.ended.tolist()


def test_a_requests_search_finds_what_the_batch_search_finds():
    rng = np.random.default_rng(1)
    rows = [
        (visitor, int(product), VIEW, visitor * HOUR + step)
        for visitor in range(300)
        for step, product in enumerate(rng.choice(40, size=int(rng.integers(2, 8)), replace=False))
    ]
    index = session_index(events(*rows), catalog(*range(40)), max_sessions=1_000)
    config = SessionConfig(neighbours=10, sample=50, idf=True, max_age_days=5)
    for _ in range(20):
        asked = rng.choice(40, size=int(rng.integers(1, 6)), replace=False)
        sessions = CurrentSessions(
            query=np.zeros(len(asked), dtype=np.int64),
            product=asked.astype(np.int64),
            at=np.array([float(rng.uniform(50, 320)) * HOUR]),
        )
        batch = session_candidates(index, sessions, config)
        one, _ = session_candidates_anchored(index, sessions, config)
        assert one.product.tolist() == batch.product.tolist()
        assert np.allclose(one.score, batch.score)
