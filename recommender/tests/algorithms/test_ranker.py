from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.algorithms.evaluation import (
    ALL_PURCHASES,
    DISCOVERY,
    EvaluationConfig,
    RankingMetrics,
    Recommender,
    evaluate,
)
from recommender.algorithms.events import PURCHASE, SECONDS_PER_DAY, VIEW, EventArrays
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.ranker import (
    FEATURES,
    RankerConfig,
    features,
    ranked_lists,
    ranker_fit,
    training_cutoffs,
)
from recommender.algorithms.ranker.features import candidates, stacked
from recommender.algorithms.ranker.model import FIT_UNITS
from recommender.algorithms.ranker.snapshot import snapshot_at
from recommender.algorithms.tiered import Catalog, Histories, Ranked, Rules, recommend
from recommender.tests.algorithms.stores import FOLLOW_UP, NOW, PRODUCTS, STARTER, store

# Small, so the tests learn in seconds.
CONFIG = RankerConfig(iterations=60, max_cutoffs=12, ease_candidates=20, popular_candidates=5)
NO_CONTENT = Neighbours.concatenate([])


def catalog(unavailable: tuple[int, ...] = ()) -> Catalog:
    product = np.arange(1, PRODUCTS + 1, dtype=np.int64)
    return Catalog(
        product=product,
        category=(product >= 10).astype(np.int64),
        available=~np.isin(product, unavailable),
    )


def with_events(events: EventArrays, rows: Sequence[tuple[int, int, int, float]]) -> EventArrays:
    """events and (visitor, product, event type, days before NOW) rows."""
    visitor, product, kind, days = (np.array(column) for column in zip(*rows, strict=True))
    return EventArrays(
        visitor=np.concatenate([events.visitor, visitor.astype(np.int64)]),
        product=np.concatenate([events.product, product.astype(np.int64)]),
        event_type=np.concatenate([events.event_type, kind.astype(np.int8)]),
        timestamp=np.concatenate([events.timestamp, NOW - days * SECONDS_PER_DAY]),
    )


@pytest.fixture(scope="module")
def learnt():
    events = with_events(
        store(),
        [
            (1001, STARTER, PURCHASE, 3),  # just bought the starter kit
            (1001, 11, PURCHASE, 3),
            (1002, 11, PURCHASE, 3),  # bought only staples
            (1002, 12, PURCHASE, 40),
        ],
    )
    ranker = ranker_fit(events, catalog(), NO_CONTENT, now=NOW, config=CONFIG)
    assert ranker is not None
    return events, ranker


def test_the_ranker_learns_what_follows_a_purchase_from_the_stores_past(learnt):
    events, ranker = learnt
    assert ranker.cutoffs == len(training_cutoffs(events, now=NOW, config=CONFIG)) > 1
    assert 0 < ranker.positives < ranker.rows
    lists = ranked_lists(
        ranker, events, catalog(), NO_CONTENT, now=NOW, visitor_ids=np.array([1001, 1002]), k=5
    )
    first = {int(group): int(lists.product[lists.group == group][0]) for group in (0, 1)}
    assert first[0] == FOLLOW_UP
    assert first[1] != FOLLOW_UP
    # Best first, at most k each, probabilities.
    for group in (0, 1):
        scores = lists.score[lists.group == group]
        assert len(scores) <= 5
        assert np.all(np.diff(scores) <= 0)
        assert np.all((scores >= 0) & (scores <= 1))


def test_sampled_negatives_keep_every_purchase_and_still_learn_the_follow_up(learnt):
    events, full = learnt
    sampled = ranker_fit(
        events, catalog(), NO_CONTENT, now=NOW, config=replace(CONFIG, negatives_per_cutoff=100)
    )
    assert sampled is not None
    assert sampled.candidates == full.candidates
    assert sampled.positives == full.positives
    assert sampled.rows < full.rows
    lists = ranked_lists(
        sampled, events, catalog(), NO_CONTENT, now=NOW, visitor_ids=np.array([1001]), k=5
    )
    assert lists.product[0] == FOLLOW_UP


def test_a_cut_off_keeps_at_most_so_many_negatives_per_purchase(learnt):
    events, full = learnt
    assert full.rows - full.positives > 4 * full.positives  # the bound below bites

    bounded = ranker_fit(
        events, catalog(), NO_CONTENT, now=NOW, config=replace(CONFIG, negatives_per_positive=2)
    )

    assert bounded is not None
    assert bounded.positives == full.positives
    assert bounded.rows - bounded.positives == pytest.approx(2 * full.positives, rel=0.1)
    lists = ranked_lists(
        bounded, events, catalog(), NO_CONTENT, now=NOW, visitor_ids=np.array([1001]), k=5
    )
    assert lists.product[0] == FOLLOW_UP


def test_the_fit_reports_its_progress_without_changing_the_trees(learnt):
    events, quiet = learnt
    reported: list[tuple[int, int]] = []

    def progress(done: int, total: int, /, *, phase: str | None = None) -> None:
        reported.append((done, total))

    watched = ranker_fit(events, catalog(), NO_CONTENT, now=NOW, config=CONFIG, progress=progress)
    assert watched is not None
    cutoffs = len(training_cutoffs(events, now=NOW, config=CONFIG))
    total = cutoffs + FIT_UNITS
    # Each cut-off, then every twentieth of the trees, in order, ending full.
    assert [done for done, _ in reported] == [
        0,
        *range(1, cutoffs + 1),
        cutoffs,
        *range(cutoffs + 1, total + 1),
    ]
    assert {t for _, t in reported} == {total}
    visitors = np.array([1001, 1002])
    first = ranked_lists(quiet, events, catalog(), NO_CONTENT, now=NOW, visitor_ids=visitors, k=9)
    second = ranked_lists(
        watched, events, catalog(), NO_CONTENT, now=NOW, visitor_ids=visitors, k=9
    )
    np.testing.assert_array_equal(first.product, second.product)
    np.testing.assert_array_equal(first.score, second.score)
    assert watched.model.n_iter_ == CONFIG.iterations  # never stopped early


def test_the_chances_of_values_at_every_bin_edge_are_the_classifiers_own(learnt):
    # The compiled trees split on the values, the classifier on their bin numbers.
    _, ranker = learnt
    edges = ranker.bins.edges
    assert any(len(column) > 10 for column in edges)
    rows = max(len(column) for column in edges) + 3
    features = np.empty((rows, len(edges)))
    for column, at in enumerate(edges):
        features[:, column] = np.resize(np.concatenate([at, [np.nan, -1e9, 1e9]]), rows)
    expected = ranker.model.predict_proba(ranker.bins.numbered(features))[:, 1]
    np.testing.assert_array_equal(ranker.chances(features), expected)


def test_the_chances_are_the_classifiers_own_and_the_stored_ranker_keeps_no_compiled_trees(
    learnt,
):
    events, ranker = learnt
    found = candidates(
        snapshot_at(events, catalog(), NO_CONTENT, now=NOW, config=CONFIG), np.array([1001, 1002])
    )
    expected = ranker.model.predict_proba(ranker.bins.numbered(found.features))[:, 1]
    np.testing.assert_array_equal(ranker.chances(found.features), expected)
    loaded = type(ranker).from_bytes(ranker.to_bytes())
    assert "_trees" not in vars(loaded)
    np.testing.assert_array_equal(loaded.chances(found.features), expected)


def test_buyers_ranked_in_small_chunks_get_the_lists_of_large_ones(learnt):
    events, ranker = learnt
    visitors = np.unique(events.visitor[events.event_type == PURCHASE])

    def lists(per_chunk: int) -> Ranked:
        chunked = replace(ranker, config=replace(ranker.config, visitors_per_chunk=per_chunk))
        return ranked_lists(
            chunked, events, catalog(), NO_CONTENT, now=NOW, visitor_ids=visitors, k=9
        )

    whole, chunked = lists(len(visitors)), lists(3)
    assert len(np.unique(whole.group)) > 6
    for name in ("group", "product", "score"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name))


def test_lists_hold_only_new_available_products(learnt):
    events, ranker = learnt
    lists = ranked_lists(
        ranker,
        events,
        catalog(unavailable=(FOLLOW_UP,)),
        NO_CONTENT,
        now=NOW,
        visitor_ids=np.array([1001, 1002]),
        k=50,
    )
    assert FOLLOW_UP not in lists.product.tolist()
    mine = lists.product[lists.group == 0].tolist()
    assert STARTER not in mine
    assert 11 not in mine
    assert len(mine) == len(set(mine))


def test_a_visitor_without_events_gets_no_list(learnt):
    events, ranker = learnt
    lists = ranked_lists(
        ranker, events, catalog(), NO_CONTENT, now=NOW, visitor_ids=np.array([5_000]), k=5
    )
    assert len(lists.product) == 0


def test_learning_reads_nothing_at_or_after_now():
    events = store(seed=1)
    future = with_events(events, [(visitor, FOLLOW_UP, PURCHASE, -2) for visitor in range(1, 60)])
    past_only = ranker_fit(events, catalog(), NO_CONTENT, now=NOW, config=CONFIG)
    with_future = ranker_fit(future, catalog(), NO_CONTENT, now=NOW, config=CONFIG)
    assert past_only is not None
    assert with_future is not None
    visitors = np.arange(1, 40)
    first = ranked_lists(
        past_only, events, catalog(), NO_CONTENT, now=NOW, visitor_ids=visitors, k=10
    )
    second = ranked_lists(
        with_future, future, catalog(), NO_CONTENT, now=NOW, visitor_ids=visitors, k=10
    )
    np.testing.assert_array_equal(first.product, second.product)
    np.testing.assert_allclose(first.score, second.score)


def test_a_catalog_beyond_the_dense_limit_is_ranked_over_its_most_visited_products():
    events = store(seed=2)
    # The 8 products with the most distinct visitors (ties: the lower id), by brute force.
    visitors = {
        product: len(set(events.visitor[events.product == product].tolist()))
        for product in set(events.product.tolist())
    }
    most_visited = sorted(visitors, key=lambda product: (-visitors[product], product))[:8]
    capped = replace(CONFIG, max_products=8)

    snapshot = snapshot_at(events, catalog(), NO_CONTENT, NOW, capped)
    assert snapshot.product_ids.tolist() == sorted(most_visited)
    assert set(snapshot.events.product.tolist()) == set(most_visited)
    ranker = ranker_fit(events, catalog(), NO_CONTENT, now=NOW, config=capped)
    assert ranker is not None
    lists = ranked_lists(
        ranker, events, catalog(), NO_CONTENT, now=NOW, visitor_ids=np.arange(1, 80), k=5
    )
    assert len(lists.product) > 0
    assert set(lists.product.tolist()) <= set(most_visited)
    # A limit above the catalog reads every product with events.
    whole = snapshot_at(events, catalog(), NO_CONTENT, NOW, replace(CONFIG, max_products=100))
    assert whole.product_ids.tolist() == sorted(visitors)


def test_a_store_without_returning_buyers_has_nothing_to_learn():
    views_only = store()
    views = EventArrays(
        visitor=views_only.visitor,
        product=views_only.product,
        event_type=np.full(len(views_only), VIEW, dtype=np.int8),
        timestamp=views_only.timestamp,
    )
    assert ranker_fit(views, catalog(), NO_CONTENT, now=NOW, config=CONFIG) is None
    assert ranker_fit(EventArrays.empty(), catalog(), NO_CONTENT, now=NOW, config=CONFIG) is None


def test_learned_lists_are_the_personalised_tier_of_the_visitors_who_have_them():
    shop = catalog()
    # Visitor 0 has a learned list, visitor 1 only neighbours; both viewed product 11.
    history = Histories(
        visitor=np.array([0, 1], dtype=np.int64),
        product=np.array([11, 11], dtype=np.int64),
        weight=np.array([1.0, 1.0]),
    )
    neighbours = Neighbours(
        product=np.array([11, 11], dtype=np.int64),
        neighbour=np.array([12, 13], dtype=np.int64),
        score=np.array([0.9, 0.5]),
        co_occurrence=np.array([5, 3], dtype=np.int64),
    )
    learned = Ranked(
        group=np.array([0, 0, 0], dtype=np.int64),
        product=np.array([20, 11, 21], dtype=np.int64),  # 11: interacted since it was ranked
        score=np.array([0.8, 0.7, 0.4]),
    )

    def lists(include_interacted: bool) -> list[list[int]]:
        chosen = recommend(
            histories=history,
            visitor_count=2,
            neighbours=neighbours,
            catalog=shop,
            category_trending=Ranked.empty(),
            global_trending=Ranked.empty(),
            rules=Rules(k=3, include_interacted=include_interacted, explain=False),
            learned=learned,
        )
        return [chosen.product[chosen.visitor == v].tolist() for v in (0, 1)]

    assert lists(include_interacted=False) == [[20, 21], [12, 13]]
    # With interacted products (buy again) the neighbours serve everybody.
    assert lists(include_interacted=True) == [[12, 13], [12, 13]]


def test_features_are_stacked_by_name_whatever_order_they_are_built_in():
    built = {name: np.full(3, float(i)) for i, name in enumerate(reversed(FEATURES))}
    matrix = stacked(built)
    for position, name in enumerate(FEATURES):
        assert matrix[:, position].tolist() == built[name].tolist()
    without = {name: column for name, column in built.items() if name != "transition"}
    with pytest.raises(ValueError, match="transition"):
        stacked(without)
    with pytest.raises(ValueError, match="typo"):
        stacked(built | {"typo": np.zeros(3)})


def test_each_feature_column_holds_what_its_name_says():
    events = store()
    snapshot = snapshot_at(events, catalog(), NO_CONTENT, NOW, CONFIG)
    visitor_ids = np.unique(events.visitor)[:5]
    found = candidates(snapshot, visitor_ids)
    products = found.features[:, FEATURES.index("visitor_products")]
    for position, visitor in enumerate(visitor_ids):
        mine = found.visitor == position
        distinct = len(np.unique(events.product[events.visitor == visitor]))
        assert set(products[mine].tolist()) == {float(distinct)}
    rank = found.features[:, FEATURES.index("ease_rank")]
    assert rank.min() == 0


@pytest.mark.parametrize("alike", [1, 3, 10_000])
def test_similar_visitors_score_what_their_most_alike_others_did_lately(alike):
    snapshot = snapshot_at(
        store(), catalog(), NO_CONTENT, NOW, replace(CONFIG, similar_visitors=alike)
    )
    rows = np.arange(snapshot.normalised.shape[0])[::2]

    # The definition, over every pair made dense: each row's likeness to all the others,
    # below its alike-th highest set to nothing (ties kept).
    likeness = (snapshot.normalised[rows] @ snapshot.normalised.T).toarray()
    likeness[np.arange(len(rows)), rows] = 0.0
    keep = min(alike, likeness.shape[1] - 1)
    threshold = -np.partition(-likeness, keep - 1, axis=1)[:, keep - 1 : keep]
    likeness[likeness < threshold] = 0.0
    expected = (sp.csr_matrix(likeness) @ snapshot.recently).toarray()

    assert (likeness > 0).sum(axis=1).max() > keep or alike == 10_000  # ties or a short row
    np.testing.assert_array_equal(features._similar_visitors(snapshot, rows), expected)


def test_the_evaluation_ranks_learned_lists_only_for_visitors_the_pipeline_would_rank():
    # Visitors who only viewed before the split and bought after it: the ranking pipeline
    # stores no learned list for them (list_owners), so the served list evaluated for them is
    # the same with the ranker as without it.
    viewers = range(9_001, 9_011)
    events = with_events(
        store(),
        [(visitor, product, VIEW, 3) for visitor in viewers for product in (11, 12)]
        + [(visitor, STARTER, PURCHASE, -2) for visitor in viewers],
    )

    def served(learned: bool) -> dict[str, RankingMetrics]:
        config = EvaluationConfig(
            ks=(20,), live=False, recommenders=(Recommender("served", learned=learned),)
        )
        now = NOW + 7 * SECONDS_PER_DAY
        result = evaluate(events, catalog=catalog(), content=NO_CONTENT, now=now, config=config)
        return result.results["served"]

    with_ranker, without = served(learned=True), served(learned=False)
    assert with_ranker[ALL_PURCHASES].visitors == len(viewers)
    assert with_ranker[ALL_PURCHASES].figures[("hit_rate", 20)] == 1.0
    for protocol in (ALL_PURCHASES, DISCOVERY):
        assert with_ranker[protocol].figures == without[protocol].figures
