from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from recommender.algorithms.events import PURCHASE, SECONDS_PER_DAY, EventArrays
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.live_ranker import (
    FEATURES,
    LiveRanker,
    LiveRankerConfig,
    fit_live_ranker,
    live_ranked,
    query_features,
)
from recommender.algorithms.sessions import CurrentSessions, SessionConfig, session_index
from recommender.algorithms.tiered import Catalog

NOW = 100 * SECONDS_PER_DAY
# Five kits of six products (ids kit * 10 + 1..6), and bestsellers 90-99 that go in any order.
KITS = [np.arange(kit * 10 + 1, kit * 10 + 7) for kit in range(1, 6)]
BESTSELLERS = np.arange(90, 100)
SESSION = SessionConfig(neighbours=20, sample=500, idf=True, max_age_days=180.0)
CONFIG = LiveRankerConfig(training_days=60.0, min_orders=50, candidates=30, iterations=30)


def orders(seed: int = 0, count: int = 400, days: float = 90.0) -> EventArrays:
    """Orders spread over the days before NOW: four or five products of one kit, in a random
    order, and one or two bestsellers."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, float]] = []
    for visitor, moment in enumerate(
        np.sort(rng.uniform(NOW - days * SECONDS_PER_DAY, NOW, count))
    ):
        kit = KITS[rng.integers(len(KITS))]
        lines = [*rng.choice(kit, rng.integers(4, 6), replace=False),
                 *rng.choice(BESTSELLERS, rng.integers(1, 3), replace=False)]  # fmt: skip
        rows += [(visitor, int(product), float(moment)) for product in rng.permutation(lines)]
    columns = list(zip(*rows, strict=True))
    return EventArrays(
        visitor=np.array(columns[0], dtype=np.int64),
        product=np.array(columns[1], dtype=np.int64),
        event_type=np.full(len(rows), PURCHASE, dtype=np.int8),
        timestamp=np.array(columns[2], dtype=np.float64),
    )


def catalog() -> Catalog:
    ids = np.concatenate([*KITS, BESTSELLERS]).astype(np.int64)
    ids.sort()
    return Catalog(product=ids, category=ids // 10, available=np.ones(len(ids), dtype=np.bool_))


NO_CONTENT = Neighbours.concatenate([])
EVENTS = orders()
INDEX = session_index(EVENTS, catalog(), max_sessions=10_000)


def session(*products: int, at: float = NOW) -> CurrentSessions:
    return CurrentSessions(
        query=np.zeros(len(products), dtype=np.int64),
        product=np.array(products, dtype=np.int64),
        at=np.array([at]),
    )


@pytest.fixture(scope="module")
def ranker() -> LiveRanker:
    fitted = fit_live_ranker(EVENTS, INDEX, NO_CONTENT, now=NOW, session=SESSION, config=CONFIG)
    assert fitted is not None
    return fitted


def test_a_basket_brings_the_rest_of_its_kit_first(ranker):
    features = query_features(INDEX, session(31, 32), NO_CONTENT, session=SESSION, config=CONFIG)
    ranked, anchor = live_ranked(ranker, features)
    first = ranked.product[:4].tolist()
    assert set(first) <= {33, 34, 35, 36}
    assert not {31, 32} & set(ranked.product.tolist())  # the session's own products
    assert set(anchor[:4].tolist()) <= {31, 32}


def test_the_features_read_no_session_after_the_moment():
    """What happened after a moment cannot change what is scored at it: the training replay
    is what a request saw then."""
    moment = NOW - 30 * SECONDS_PER_DAY
    later = EventArrays(
        visitor=np.full(3, 10_000, dtype=np.int64),
        product=np.array([31, 91, 92], dtype=np.int64),
        event_type=np.full(3, PURCHASE, dtype=np.int8),
        timestamp=np.full(3, moment + 60.0),
    )
    before = query_features(INDEX, session(31, 32, at=moment), NO_CONTENT, session=SESSION)
    grown = session_index(EventArrays.concatenate([EVENTS, later]), catalog(), max_sessions=10_000)
    after = query_features(grown, session(31, 32, at=moment), NO_CONTENT, session=SESSION)
    assert before.values.shape[1] == len(FEATURES)
    np.testing.assert_array_equal(before.product, after.product)
    np.testing.assert_allclose(before.values, after.values)


def test_learning_twice_gives_the_same_ranking_and_it_survives_storage(ranker):
    again = fit_live_ranker(EVENTS, INDEX, NO_CONTENT, now=NOW, session=SESSION, config=CONFIG)
    stored = LiveRanker.from_bytes(ranker.to_bytes())
    features = query_features(INDEX, session(41, 42, 91), NO_CONTENT, session=SESSION)
    assert again is not None
    np.testing.assert_array_equal(again.score(features), ranker.score(features))
    np.testing.assert_array_equal(stored.score(features), ranker.score(features))


def test_nothing_is_learnt_without_orders_to_replay():
    quiet = EVENTS.select(EVENTS.timestamp < NOW - 80 * SECONDS_PER_DAY)
    assert (
        fit_live_ranker(quiet, INDEX, NO_CONTENT, now=NOW, session=SESSION, config=CONFIG) is None
    )


def test_nothing_is_learnt_from_fewer_orders_than_the_minimum():
    """A small shop's few orders would teach the model noise: the blend serves instead."""
    demanding = replace(CONFIG, min_orders=10_000)
    learnt = fit_live_ranker(EVENTS, INDEX, NO_CONTENT, now=NOW, session=SESSION, config=demanding)
    assert learnt is None


def test_stored_bytes_of_something_else_are_refused():
    import pickle

    with pytest.raises(TypeError):
        LiveRanker.from_bytes(pickle.dumps({"not": "a ranker"}))


def test_a_session_of_products_nobody_bought_together_yet_brings_nothing(ranker):
    features = query_features(INDEX, session(777, 778), NO_CONTENT, session=SESSION)
    ranked, anchor = live_ranked(ranker, features)
    assert len(ranked.product) == len(anchor) == 0


def test_one_viewed_product_is_enough(ranker):
    features = query_features(INDEX, session(51), NO_CONTENT, session=SESSION, config=CONFIG)
    ranked, anchor = live_ranked(ranker, features)
    assert set(ranked.product[:3].tolist()) <= {52, 53, 54, 55, 56}
    assert set(anchor[:3].tolist()) == {51}
