from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from infrastructure import cache
from recommender import pipelines, serving
from recommender.algorithms.ranker.model import FIT_UNITS
from recommender.models import (
    BoughtTogether,
    ContentSimilarity,
    ItemSimilarity,
    LearnedRecommendation,
    PipelineKind,
    PipelineRun,
    PipelineStatus,
    RankingStagingRow,
    SimilarityStagingRow,
    StagedRanker,
    TrendingScore,
)
from recommender.services import merchandising_rule_save
from recommender.tests.algorithms.stores import FOLLOW_UP, STARTER
from recommender.tests.factories import PipelineRunFactory, synthetic_store_in_the_database
from tracking.models import Event, EventType
from tracking.tests.factories import EventFactory, VisitorFactory

pytestmark = pytest.mark.django_db(transaction=True)

NOW = timezone.now().replace(microsecond=0)


def event(visitor, product, kind=EventType.VIEW, days_ago=1.0):
    return EventFactory.create(
        visitor=visitor,
        product=product,
        event_type=kind,
        occurred_at=NOW - timedelta(days=days_ago),
    )


@pytest.fixture
def shop():
    """Two shoppers who both looked at a mug and a teapot; one also bought the teapot."""
    mug, teapot, lamp = (ProductFactory.create(name=n) for n in ("Mug", "Teapot", "Lamp"))
    ann, bob = VisitorFactory.create(), VisitorFactory.create()
    event(ann, mug)
    event(ann, teapot)
    event(bob, mug, days_ago=2)
    event(bob, teapot, days_ago=2)
    event(bob, teapot, EventType.PURCHASE, days_ago=2)
    event(bob, lamp, days_ago=20)  # only in the 30-day window
    event(bob, lamp, days_ago=40)  # in no window
    return {"mug": mug, "teapot": teapot, "lamp": lamp}


def test_trending_writes_both_windows_with_categories(shop):
    run = pipelines.trending_compute(now=NOW)
    assert run.status == PipelineStatus.SUCCEEDED
    week = list(TrendingScore.objects.filter(window="7d").order_by("-score"))
    assert [s.product for s in week] == [shop["teapot"], shop["mug"]]
    assert week[0].category_id == shop["teapot"].category_id
    assert week[0].event_count == 3
    month = TrendingScore.objects.filter(window="30d")
    assert set(month.values_list("product__name", flat=True)) == {"Mug", "Teapot", "Lamp"}
    assert run.statistics["rows_written"] == 5
    assert set(run.statistics["seconds"]) == {"read", "compute", "write"}


def test_similarity_records_its_phases(shop):
    run = pipelines.similarity_compute(now=NOW)
    assert set(run.statistics["seconds"]) == {"read", "compute_and_write"}
    assert run.statistics["rows_written"] == 2


def test_similarity_writes_the_algorithms_neighbours(shop):
    run = pipelines.similarity_compute(now=NOW)
    assert run.status == PipelineStatus.SUCCEEDED
    pairs = {
        (s.product.name, s.similar_product.name): s.co_occurrence
        for s in ItemSimilarity.objects.select_related("product", "similar_product")
    }
    # The lamp shares only one visitor with anything: filtered out.
    assert pairs == {("Mug", "Teapot"): 2, ("Teapot", "Mug"): 2}
    assert run.statistics["products_with_neighbours"] == 2


def test_running_twice_replaces_rather_than_adds(shop):
    pipelines.trending_compute(now=NOW)
    pipelines.similarity_compute(now=NOW)
    first = (TrendingScore.objects.count(), ItemSimilarity.objects.count())
    pipelines.trending_compute(now=NOW)
    pipelines.similarity_compute(now=NOW)
    assert (TrendingScore.objects.count(), ItemSimilarity.objects.count()) == first
    assert PipelineRun.objects.filter(status=PipelineStatus.SUCCEEDED).count() == 4


def test_a_pipeline_never_runs_twice_at_once(shop):
    PipelineRunFactory.create(kind=PipelineKind.TRENDING, status=PipelineStatus.RUNNING,
                              started_at=timezone.now())  # fmt: skip
    with pytest.raises(pipelines.PipelineAlreadyRunningError):
        pipelines.trending_compute(now=NOW)
    # Another pipeline is not blocked.
    assert pipelines.similarity_compute(now=NOW).status == PipelineStatus.SUCCEEDED


def test_an_abandoned_run_is_marked_failed_and_does_not_block(shop, settings):
    stale = PipelineRunFactory.create(kind=PipelineKind.TRENDING, status=PipelineStatus.RUNNING)
    PipelineRun.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    )
    assert pipelines.trending_compute(now=NOW).status == PipelineStatus.SUCCEEDED
    stale.refresh_from_db()
    assert stale.status == PipelineStatus.FAILED
    assert "Abandoned" in stale.error


def test_a_failed_run_keeps_the_previous_results(shop, monkeypatch):
    pipelines.similarity_compute(now=NOW)
    before = list(ItemSimilarity.objects.values_list("product_id", "similar_product_id", "score"))

    def broken(*args, **kwargs):
        raise MemoryError("simulated failure while computing")

    monkeypatch.setattr(pipelines.similarity, "behavioural_blocks", broken)
    with pytest.raises(MemoryError):
        pipelines.similarity_compute(now=NOW)
    failed = PipelineRun.objects.filter(kind=PipelineKind.SIMILARITY).order_by("-id")[0]
    assert failed.status == PipelineStatus.FAILED
    assert "simulated failure" in failed.error
    assert failed.finished_at is not None
    after = list(ItemSimilarity.objects.values_list("product_id", "similar_product_id", "score"))
    assert after == before


def test_a_failed_write_rolls_back_to_the_previous_results(shop, monkeypatch):
    pipelines.trending_compute(now=NOW)
    before = TrendingScore.objects.count()

    def failing_insert(model, frame):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipelines.trending, "insert_frame", failing_insert)
    with pytest.raises(RuntimeError):
        pipelines.trending_compute(now=NOW)
    assert TrendingScore.objects.count() == before


def test_runs_invalidate_their_cache_family(shop):
    trending, similarity = cache.generation(cache.TRENDING), cache.generation(cache.SIMILARITY)
    pipelines.trending_compute(now=NOW)
    assert cache.generation(cache.TRENDING) > trending
    assert cache.generation(cache.SIMILARITY) == similarity
    pipelines.similarity_compute(now=NOW)
    assert cache.generation(cache.SIMILARITY) > similarity


def test_learned_lists_invalidate_recommendations_not_similar_products(shop):
    similar = cache.generation(cache.SIMILARITY)
    recommendations = cache.generation(cache.RECOMMENDATIONS)
    pipelines.ranking_compute(now=NOW)
    assert cache.generation(cache.RECOMMENDATIONS) > recommendations
    assert cache.generation(cache.SIMILARITY) == similar


def test_no_events_gives_empty_tables_not_errors():
    assert pipelines.trending_compute(now=NOW).status == PipelineStatus.SUCCEEDED
    assert pipelines.similarity_compute(now=NOW).status == PipelineStatus.SUCCEEDED
    assert not TrendingScore.objects.exists()
    assert not ItemSimilarity.objects.exists()


def test_content_similarity_links_products_described_alike_and_keeps_behavioural_rows(shop):
    pipelines.similarity_compute(now=NOW)
    behavioural = ItemSimilarity.objects.count()
    ProductFactory.create(name="Big teapot", description="Porcelain teapot")
    run = pipelines.content_compute(now=NOW)
    assert run.status == PipelineStatus.SUCCEEDED
    content = ContentSimilarity.objects.all()
    teapots = set(
        content.filter(product__name="Big teapot").values_list("similar_product__name", flat=True)
    )
    assert "Teapot" in teapots
    assert ItemSimilarity.objects.count() == behavioural
    assert run.statistics["rows_written"] == content.count()
    again = pipelines.content_compute(now=NOW)
    assert again.statistics["rows_written"] == content.count()


def test_evaluation_stores_every_figure_of_every_contender(shop):
    # Ann bought the lamp after the split; she had viewed the mug and the teapot before it.
    event(VisitorFactory.create(), shop["lamp"], EventType.PURCHASE, days_ago=1)
    ann = Event.objects.filter(product=shop["mug"]).earliest("occurred_at").visitor
    event(ann, shop["mug"], days_ago=10)
    event(ann, shop["teapot"], EventType.PURCHASE, days_ago=2)
    evaluation = pipelines.evaluation_compute(now=NOW, ks=(5, 10))
    run = evaluation.pipeline_run
    assert run is not None
    assert run.kind == PipelineKind.EVALUATION
    assert run.status == PipelineStatus.SUCCEEDED
    contenders = [c.name for c in pipelines.evaluation_contenders()]
    assert evaluation.parameters["recommenders"] == contenders
    per_protocol = 5 * 2 + 2  # five metrics at two cut-offs, coverage, visitors
    assert evaluation.metrics.count() == len(contenders) * 2 * per_protocol
    assert evaluation.visitors_evaluated == 2
    assert run.statistics["evaluation_run"] == evaluation.pk


def test_evaluation_without_events_evaluates_nobody():
    evaluation = pipelines.evaluation_compute(now=NOW)
    assert evaluation.visitors_evaluated == 0
    assert evaluation.metrics.filter(metric="recall", value__gt=0).count() == 0


def neighbour_rows():
    return sorted(
        ItemSimilarity.objects.values_list(
            "product_id", "similar_product_id", "score", "co_occurrence"
        )
    )


@pytest.fixture
def bigger_shop():
    """Twelve products, thirty visitors: enough pairs for several blocks to matter."""
    products = ProductFactory.create_batch(12)
    for index in range(30):
        visitor = VisitorFactory.create()
        for offset in range(4):
            event(visitor, products[(index + offset * (index % 3 + 1)) % 12], days_ago=offset + 1)
    return products


def test_distributed_similarity_equals_the_single_machine_run(bigger_shop, settings):
    # The distributed run is for catalogs beyond EASE's reach: it computes cosine neighbours.
    settings.RECOMMENDER_SIMILARITY_METHOD = "cosine"
    pipelines.similarity_compute(now=NOW)
    single = neighbour_rows()
    assert single
    run, ranges = pipelines.similarity_distributed_begin(blocks=3, now=NOW)
    assert len(ranges) == 3
    staged = [
        pipelines.similarity_block_compute(run_id=run.pk, first_product=first, last_product=last)
        for first, last in reversed(ranges)  # any order, any worker
    ]
    # A redelivered block replaces its own rows instead of adding them again.
    first, last = ranges[0]
    assert pipelines.similarity_block_compute(run_id=run.pk, first_product=first,
                                              last_product=last) == staged[-1]  # fmt: skip
    assert neighbour_rows() == single  # nothing swapped in before the last block
    finished = pipelines.similarity_distributed_finish(run_id=run.pk)
    assert finished.status == PipelineStatus.SUCCEEDED
    assert finished.statistics["rows_written"] == sum(staged) == len(single)
    assert neighbour_rows() == single
    assert not SimilarityStagingRow.objects.exists()
    # The body delivered twice changes nothing.
    assert pipelines.similarity_distributed_finish(run_id=run.pk).status == PipelineStatus.SUCCEEDED
    assert neighbour_rows() == single


def test_a_failed_distributed_run_keeps_the_served_neighbours(bigger_shop):
    pipelines.similarity_compute(now=NOW)
    served = neighbour_rows()
    run, ranges = pipelines.similarity_distributed_begin(blocks=2, now=NOW)
    first, last = ranges[0]
    pipelines.similarity_block_compute(run_id=run.pk, first_product=first, last_product=last)
    pipelines.similarity_distributed_fail(run_id=run.pk, error="worker lost")
    run.refresh_from_db()
    assert run.status == PipelineStatus.FAILED
    assert not SimilarityStagingRow.objects.exists()
    # A late block or body of the failed run does nothing.
    assert pipelines.similarity_block_compute(run_id=run.pk, first_product=first,
                                              last_product=last) == 0  # fmt: skip
    assert pipelines.similarity_distributed_finish(run_id=run.pk).status == PipelineStatus.FAILED
    assert neighbour_rows() == served


def test_a_distributed_run_cannot_start_while_similarity_runs(bigger_shop):
    pipelines.similarity_distributed_begin(blocks=2, now=NOW)
    with pytest.raises(pipelines.PipelineAlreadyRunningError):
        pipelines.similarity_compute(now=NOW)


def test_bought_together_pairs_products_of_the_same_orders(shop):
    tea = ProductFactory.create(name="Tea")
    for days_ago in (3, 4):
        shopper = VisitorFactory.create()
        event(shopper, shop["teapot"], EventType.PURCHASE, days_ago=days_ago)
        event(shopper, tea, EventType.PURCHASE, days_ago=days_ago)
    event(VisitorFactory.create(), shop["mug"], EventType.VIEW)  # views are not baskets
    run = pipelines.bought_together_compute(now=NOW)
    assert run.status == PipelineStatus.SUCCEEDED
    pairs = BoughtTogether.objects.order_by("product__name")
    assert [(p.product, p.similar_product, p.co_occurrence) for p in pairs] == [
        (tea, shop["teapot"], 2),
        (shop["teapot"], tea, 2),
    ]
    assert run.statistics["baskets"] == 3  # bob's lone teapot is a basket too
    assert run.statistics["rows_written"] == 2


def test_ranking_stores_each_returning_buyers_learned_list_and_serves_it():
    products, visitors = synthetic_store_in_the_database(NOW)
    starter_buyer = VisitorFactory.create(external_id="starter-buyer")
    event(starter_buyer, products[STARTER], EventType.PURCHASE, days_ago=3)
    event(starter_buyer, products[11], EventType.PURCHASE, days_ago=3)

    run = pipelines.ranking_compute(now=NOW)

    assert run.status == PipelineStatus.SUCCEEDED
    assert run.statistics["learnt"] is True
    assert run.statistics["buyers"] == len(visitors) + 1
    assert run.statistics["rows_written"] == LearnedRecommendation.objects.count() > 0
    best = LearnedRecommendation.objects.filter(visitor=starter_buyer).order_by("-score")[0]
    assert best.product == products[FOLLOW_UP]
    answer = serving.recommendations(serving.RecommendationRequest(visitor="starter-buyer", k=3))
    assert answer["strategy"] == "personalised"
    assert answer["items"][0]["product"]["id"] == products[FOLLOW_UP].pk
    assert answer["items"][0]["reason"]["type"] in {"picked_for_you", "similar_to", "just_viewed"}
    # Run again: the lists are replaced, not added to; the progress bar moves through the
    # cut-offs, the fit, the ranking snapshot and the chunks of buyers, and ends full; it
    # names each phase as it starts.
    reported: list[tuple[int, int]] = []
    phases: list[str] = []

    def progress(done: int, total: int, /, *, phase: str | None = None) -> None:
        reported.append((done, total))
        if phase is not None:
            phases.append(phase.split(" on ")[0])

    again = pipelines.ranking_compute(now=NOW, progress=progress)
    assert phases == [
        "learning from weekly cut-offs",
        "fitting the model",
        "ranking every buyer",
        "writing the lists",
    ]
    assert LearnedRecommendation.objects.count() == again.statistics["rows_written"]
    total = reported[-1][1]
    assert reported[-1] == (total, total)
    done = [d for d, _ in reported]
    assert done == sorted(done)
    cutoffs, steps = run.statistics["cutoffs"], FIT_UNITS
    # Every step of the fit moves the bar, then the ranking snapshot and a chunk of buyers.
    assert set(range(cutoffs + 1, cutoffs + steps + 3)) <= set(done)
    assert again.statistics["rows_written"] == run.statistics["rows_written"]


def learned_lists():
    return sorted(LearnedRecommendation.objects.values_list("visitor_id", "product_id", "score"))


def test_distributed_ranking_equals_the_single_machine_run():
    synthetic_store_in_the_database(NOW)
    pipelines.ranking_compute(now=NOW)
    single = learned_lists()
    assert single
    run, ranges = pipelines.ranking_distributed_begin(blocks=3, now=NOW)
    assert len(ranges) == 3
    assert run.statistics["learnt"] is True
    staged = [
        pipelines.ranking_block_compute(run_id=run.pk, first_visitor=first, last_visitor=last)
        for first, last in reversed(ranges)  # any order, any worker
    ]
    # A redelivered block replaces its own rows instead of adding them again.
    first, last = ranges[0]
    assert pipelines.ranking_block_compute(run_id=run.pk, first_visitor=first,
                                           last_visitor=last) == staged[-1]  # fmt: skip
    assert learned_lists() == single  # nothing swapped in before the last block
    finished = pipelines.ranking_distributed_finish(run_id=run.pk)
    assert finished.status == PipelineStatus.SUCCEEDED
    assert finished.statistics["rows_written"] == sum(staged) == len(single)
    assert learned_lists() == single
    assert not RankingStagingRow.objects.exists()
    assert not StagedRanker.objects.exists()
    # The body delivered twice changes nothing.
    assert pipelines.ranking_distributed_finish(run_id=run.pk).status == PipelineStatus.SUCCEEDED
    assert learned_lists() == single


def test_a_failed_distributed_ranking_keeps_the_served_lists():
    synthetic_store_in_the_database(NOW)
    pipelines.ranking_compute(now=NOW)
    served = learned_lists()
    run, ranges = pipelines.ranking_distributed_begin(blocks=2, now=NOW)
    first, last = ranges[0]
    pipelines.ranking_block_compute(run_id=run.pk, first_visitor=first, last_visitor=last)
    pipelines.ranking_distributed_fail(run_id=run.pk, error="worker lost")
    run.refresh_from_db()
    assert run.status == PipelineStatus.FAILED
    assert not RankingStagingRow.objects.exists()
    assert not StagedRanker.objects.exists()
    # A late block or body of the failed run does nothing; a ranking cannot start beside it
    # while it runs, and can after.
    assert pipelines.ranking_block_compute(run_id=run.pk, first_visitor=first,
                                           last_visitor=last) == 0  # fmt: skip
    assert pipelines.ranking_distributed_finish(run_id=run.pk).status == PipelineStatus.FAILED
    assert learned_lists() == served


def test_a_distributed_ranking_cannot_start_while_the_ranking_runs(shop):
    pipelines.ranking_distributed_begin(blocks=2, now=NOW)
    with pytest.raises(pipelines.PipelineAlreadyRunningError):
        pipelines.ranking_compute(now=NOW)


def test_ranking_a_store_with_nothing_to_learn_from_stores_no_lists(shop):
    run = pipelines.ranking_compute(now=NOW)
    assert run.status == PipelineStatus.SUCCEEDED
    assert run.statistics["learnt"] is False
    assert not LearnedRecommendation.objects.exists()


def test_evaluation_measures_the_served_list_with_the_shops_rules_beside_it(shop):
    """What the active rules cost: the served recommender is measured with and without them."""
    event(VisitorFactory.create(), shop["lamp"], EventType.PURCHASE, days_ago=1)
    ann = Event.objects.filter(product=shop["mug"]).earliest("occurred_at").visitor
    event(ann, shop["mug"], days_ago=10)
    event(ann, shop["teapot"], EventType.PURCHASE, days_ago=2)
    for _ in range(3):  # what was popular before the split
        for product in ("lamp", "teapot"):
            event(VisitorFactory.create(), shop[product], days_ago=9)
    for bought in ("lamp", "teapot"):
        merchandising_rule_save(changed_by=None, kind="hide", product=shop[bought])
    evaluation = pipelines.evaluation_compute(now=NOW, ks=(5, 10))
    served = pipelines.evaluation_contenders()[0].name

    def hits(algorithm: str) -> float:
        return evaluation.metrics.get(
            algorithm=algorithm, protocol="all", metric="hit_rate", k=10
        ).value

    assert hits(served) > 0
    assert hits(f"{served}_with_rules") == 0  # what was bought is hidden
    assert len(evaluation.parameters["merchandising_rules"]) == 2
