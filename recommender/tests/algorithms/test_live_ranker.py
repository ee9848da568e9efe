from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from recommender.algorithms import live_ranker
from recommender.algorithms.arrays import Ranked
from recommender.algorithms.buy_again import repeat_scores
from recommender.algorithms.events import PURCHASE, SECONDS_PER_DAY, EventArrays
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.live_ranker import (
    FEATURES,
    NIGHTLY_FEATURES,
    LiveRanker,
    LiveRankerConfig,
    Nightly,
    NightlyInputs,
    fit_live_ranker,
    live_ranked,
    query_features,
    replayed_nightly,
    training_cases,
)
from recommender.algorithms.ranker import RankerConfig
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
    return purchases(rows)


def purchases(rows: list[tuple[int, int, float]]) -> EventArrays:
    """(visitor, product, moment) rows as purchase events."""
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


def test_a_replay_of_many_queries_gives_each_what_it_would_get_alone():
    """A replay counts each query's usable sessions from the previous query's, in time order
    (sessions become usable and age out): every query still gets the candidates and features
    it gets when asked on its own."""
    config = replace(SESSION, max_age_days=20.0)
    days_before = [85.0, 3.0, 40.0, 39.5, 60.0, 10.0, 41.0, 0.0, 70.0, 10.0]
    baskets = [(31, 32), (41,), (51, 52, 91), (21, 22), (31,), (11, 12), (41, 95), (51,), (21,),
               (33, 34)]  # fmt: skip
    moments = NOW - SECONDS_PER_DAY * np.array(days_before)
    replayed = CurrentSessions(
        query=np.repeat(np.arange(len(baskets)), [len(basket) for basket in baskets]),
        product=np.concatenate(baskets).astype(np.int64),
        at=moments,
    )
    together = query_features(INDEX, replayed, NO_CONTENT, session=config, config=CONFIG)
    for query, (basket, moment) in enumerate(zip(baskets, moments, strict=True)):
        alone = query_features(
            INDEX, session(*basket, at=moment), NO_CONTENT, session=config, config=CONFIG
        )
        mine = together.query == query
        assert len(alone.product) > 0
        np.testing.assert_array_equal(together.product[mine], alone.product)
        np.testing.assert_array_equal(together.values[mine], alone.values)


def test_learning_twice_gives_the_same_ranking_and_it_survives_storage(ranker):
    again = fit_live_ranker(EVENTS, INDEX, NO_CONTENT, now=NOW, session=SESSION, config=CONFIG)
    stored = LiveRanker.from_bytes(ranker.to_bytes())
    features = query_features(INDEX, session(41, 42, 91), NO_CONTENT, session=SESSION)
    assert again is not None
    np.testing.assert_array_equal(again.score(features), ranker.score(features))
    np.testing.assert_array_equal(stored.score(features), ranker.score(features))


def test_the_scores_are_the_models_probabilities_and_their_tables_are_not_stored(ranker):
    stored = ranker.to_bytes()
    features = query_features(INDEX, session(41, 42, 91), NO_CONTENT, session=SESSION)
    np.testing.assert_array_equal(
        ranker.score(features), ranker.model.predict_proba(features.values)[:, 1]
    )
    assert ranker.to_bytes() == stored  # the trees compiled for scoring stay in the process


def test_an_evaluations_many_rows_get_the_same_scores_as_a_requests_few(ranker, monkeypatch):
    features = query_features(INDEX, session(41, 42, 91), NO_CONTENT, session=SESSION)
    by_compiled_trees = ranker.score(features)
    monkeypatch.setattr(live_ranker, "COMPILED_ROWS", 2)
    np.testing.assert_array_equal(ranker.score(features), by_compiled_trees)


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


def test_a_snapshot_learnt_with_other_features_is_not_used(ranker):
    """After an upgrade that changes the features, last night's snapshot cannot score this
    release's rows: the blend serves until the next run."""
    import pickle

    older = replace(ranker, features=FEATURES[:18])
    assert LiveRanker.usable_from_bytes(older.to_bytes()) is None
    stripped = LiveRanker.from_bytes(ranker.to_bytes())
    del vars(stripped)["features"]  # pickled by a release before the field existed
    assert LiveRanker.usable_from_bytes(pickle.dumps(stripped)) is None
    assert LiveRanker.usable_from_bytes(ranker.to_bytes()) is not None


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


def nightly(*, learned: dict[int, float], repeats: dict[int, float]) -> Nightly:
    """One query's (query 0) nightly candidates, best first."""

    def ranked(scores: dict[int, float]) -> Ranked:
        return Ranked.of(
            np.array(list(scores), dtype=np.int64), np.array(list(scores.values()), dtype=float)
        )

    return Nightly(learned=ranked(learned), repeats=ranked(repeats))


def test_a_returning_buyers_learned_list_and_repeats_are_ranked_with_the_live_candidates():
    """One ranking: the nightly products are candidates beside the basket's companions, each
    with what the night said of it (what they bought before only where the list allows it)."""
    asked = nightly(learned={51: 0.9, 52: 0.5, 31: 0.4}, repeats={91: 2.0, 93: 1.0})
    features = query_features(
        INDEX, session(31, 32), NO_CONTENT, session=SESSION, config=CONFIG, nightly=asked,
        interacted=True,
    )  # fmt: skip
    default = query_features(
        INDEX, session(31, 32), NO_CONTENT, session=SESSION, config=CONFIG, nightly=asked
    )
    guest = query_features(INDEX, session(31, 32), NO_CONTENT, session=SESSION, config=CONFIG)
    values = dict(zip(features.product.tolist(), features.values, strict=True))
    column = {name: FEATURES.index(name) for name in NIGHTLY_FEATURES}
    assert {51, 52, 91, 93} <= set(values)
    assert {33, 34} <= set(values)
    assert 31 not in values  # the session's own product, even when listed
    assert values[51][column["learned_rank"]] == 1.0
    assert values[52][column["learned_rank"]] == 0.5
    assert values[52][column["learned_score"]] == 0.5
    assert values[91][column["repeat_score"]] == 1.0
    assert values[93][column["repeat_score"]] == 0.5
    assert values[33][column["learned_score"]] == values[33][column["repeat_score"]] == 0.0
    assert (features.values[:, column["returning"]] == 1.0).all()
    # The default list: new products only, the learned ones still candidates.
    assert {51, 52} <= set(default.product.tolist())
    assert not {91, 93} & set(default.product.tolist())
    # A guest's query has no nightly candidates and nothing in the nightly columns.
    assert not {51, 52} & set(guest.product.tolist())
    nightly_columns = [column[name] for name in NIGHTLY_FEATURES]
    assert (guest.values[:, nightly_columns] == 0.0).all()


# Sixty regular customers ordering from their kit (one of five) and their own staple (one of
# ten bestsellers, not the kit's) over 200 days: the replay gives returning buyers' orders
# their nightly candidates.
REGULARS_NOW = 300 * SECONDS_PER_DAY
SHORT_RANKER = RankerConfig(label_days=14.0, min_history_days=14.0, max_cutoffs=6)


def regular_orders(count: int = 500) -> EventArrays:
    rng = np.random.default_rng(3)
    rows: list[tuple[int, int, float]] = []
    start = REGULARS_NOW - 200 * SECONDS_PER_DAY
    for moment in np.sort(rng.uniform(start, REGULARS_NOW, count)):
        visitor = int(rng.integers(60))
        kit = KITS[visitor % len(KITS)]
        lines = [*rng.choice(kit, 4, replace=False), int(BESTSELLERS[visitor // 6])]
        rows += [(visitor, int(product), float(moment)) for product in lines]
    return purchases(rows)


def test_replayed_orders_see_nightly_lists_made_of_nothing_after_them():
    """A replayed order's learned list and repeats are what the night before it served: cut
    every event from a moment on, and no earlier order's nightly candidates move."""
    events = regular_orders()
    config = replace(CONFIG, training_days=90.0)
    inputs = NightlyInputs(catalog=catalog(), content=NO_CONTENT, ranker=SHORT_RANKER)
    cases = training_cases(events, now=REGULARS_NOW, config=config)
    full = replayed_nightly(events, cases, inputs, now=REGULARS_NOW, config=config)
    cut = REGULARS_NOW - 40 * SECONDS_PER_DAY
    truncated = replayed_nightly(
        events.select(events.timestamp < cut), cases, inputs, now=REGULARS_NOW, config=config
    )
    before = np.flatnonzero(cases.at < cut)
    assert cases.returning[before].sum() > 50
    for name in ("learned", "repeats"):
        whole, part = getattr(full, name), getattr(truncated, name)
        rows, kept = np.isin(whole.group, before), np.isin(part.group, before)
        assert rows.sum() > 0
        np.testing.assert_array_equal(whole.group[rows], part.group[kept])
        np.testing.assert_array_equal(whole.product[rows], part.product[kept])
        np.testing.assert_allclose(whole.score[rows], part.score[kept])
    # Only orders of visitors who bought before have any.
    assert set(full.learned.group.tolist()) <= set(np.flatnonzero(cases.returning).tolist())


def test_a_ranking_learnt_with_nightly_candidates_puts_a_regulars_staple_first():
    """Regulars buy their own staple with every order, and each kit's buyers have different
    staples: the basket alone cannot tell which, the repeats can."""
    events = regular_orders()
    index = session_index(events, catalog(), max_sessions=10_000)
    config = replace(CONFIG, training_days=90.0)
    inputs = NightlyInputs(catalog=catalog(), content=NO_CONTENT, ranker=SHORT_RANKER)
    fitted = fit_live_ranker(
        events, index, NO_CONTENT, now=REGULARS_NOW, session=SESSION, config=config,
        nightly=inputs,
    )  # fmt: skip
    assert fitted is not None
    basket = session(31, 32, at=REGULARS_NOW)
    firsts = []
    for visitor in (7, 12, 22):  # all buy kit KITS[2]; staples 91, 92 and 93
        bought = repeat_scores(
            events.select(events.visitor == visitor), np.array([visitor]), now=REGULARS_NOW
        )
        features = query_features(
            index, basket, NO_CONTENT, session=SESSION, config=config,
            nightly=Nightly(learned=Ranked.empty(), repeats=bought), interacted=True,
        )  # fmt: skip
        firsts.append(int(live_ranked(fitted, features)[0].product[0]))
    assert firsts == [91, 92, 93]
