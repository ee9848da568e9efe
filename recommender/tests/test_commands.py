from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from recommender.models import (
    ContentSimilarity,
    EvaluationRun,
    ItemSimilarity,
    LiveRankerSnapshot,
    PipelineKind,
    PipelineStatus,
    TrendingScore,
)
from recommender.tests.factories import PipelineRunFactory

pytestmark = pytest.mark.django_db(transaction=True)

DAY = timedelta(days=1)


@pytest.fixture
def demo_shop():
    call_command(
        "seed_demo", "--products", "80", "--visitors", "60", "--events", "4000",
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_compute_trending_fills_the_table_and_summarises(demo_shop):
    out, _ = run("compute_trending")
    assert "Trending run #" in out
    assert "succeeded" in out
    assert '"rows_written"' in out
    assert TrendingScore.objects.exists()


def test_compute_similarity_shows_progress_and_summarises(demo_shop):
    out, err = run("compute_similarity", "--top-k", "5")
    assert "Item similarity run #" in out
    assert "Neighbours" in err
    assert ItemSimilarity.objects.exists()
    per_product = ItemSimilarity.objects.values("product").distinct().count()
    assert ItemSimilarity.objects.count() <= 5 * per_product


def test_a_running_pipeline_is_a_clear_command_error(demo_shop):
    PipelineRunFactory.create(
        kind=PipelineKind.TRENDING, status=PipelineStatus.RUNNING, started_at=timezone.now()
    )
    with pytest.raises(CommandError, match="already running"):
        run("compute_trending")


def test_bad_options_are_usage_errors():
    with pytest.raises(CommandError, match="invalid"):
        run("compute_similarity", "--top-k", "0")


def test_compute_live_ranking_learns_from_what_there_is_when_told(demo_shop):
    out, _ = run("compute_live_ranking")
    assert '"learnt": false' in out  # the demo's orders are fewer than a real store's minimum
    assert '"orders_available": ' in out
    assert not LiveRankerSnapshot.objects.exists()
    out, err = run("compute_live_ranking", "--min-orders", "1")
    assert '"learnt": true' in out
    assert LiveRankerSnapshot.objects.count() == 1
    # The bar names each step as it starts (the replays, the nightly lists, each model's fit)
    # and ends full: the last step is the fit for lists with interacted products.
    assert "Live ranking: learning the interacted model" in err
    assert "100%" in err


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_compute_live_ranking_refuses_a_bad_minimum(value):
    with pytest.raises(CommandError, match="at least 1"):
        run("compute_live_ranking", "--min-orders", value)


def test_compute_content_similarity_shows_progress_and_summarises(demo_shop):
    out, err = run("compute_content_similarity", "--top-k", "3")
    assert "Content similarity run #" in out
    assert "Content neighbours" in err
    assert ContentSimilarity.objects.count() <= 3 * 80


def test_evaluate_prints_a_table_per_protocol_and_stores_the_run(demo_shop):
    out, err = run("evaluate", "--test-days", "7", "--k", "10,5")
    assert "Recommenders" in err
    assert "All purchases (protocol 'all')" in out
    assert "Discovery (protocol 'discovery')" in out
    assert "HR@5" in out
    assert "NDCG@10" in out
    assert "popularity" in out
    assert EvaluationRun.objects.get().parameters["ks"] == [5, 10]


def test_evaluate_json_is_machine_readable(demo_shop):
    out, _ = run("evaluate", "--json", "--k", "20")
    figures = json.loads(out)
    tiered = figures["results"]["tiered"]
    # The demo week's orders make the live protocol's guest rows (its buyers all came back).
    assert {"all", "discovery", "live_guests", "live_returning_all"} <= set(tiered)
    assert 0.0 <= tiered["all"]["hit_rate@20"] <= 1.0
    assert 0.0 <= tiered["live_guests"]["ndcg@20"] <= 1.0
    assert "session_knn" in figures["results"]
    assert tiered["all"]["visitors"] == figures["visitors_evaluated"]


@pytest.mark.parametrize("arguments", [["--k", "0"], ["--k", "five"], ["--test-days", "-1"]])
def test_evaluate_rejects_bad_arguments_with_usage_errors(arguments):
    with pytest.raises(CommandError, match="invalid"):
        run("evaluate", *arguments)


@pytest.fixture
def viewed_together():
    """Three visitors viewed the mug and the teapot; one of them also the (sold out) cup."""
    from catalog.tests.factories import CategoryFactory, ProductFactory
    from recommender import pipelines
    from tracking.tests.factories import EventFactory, VisitorFactory

    kitchen = CategoryFactory.create(name="Kitchen", slug="kitchen")
    mug, teapot = (ProductFactory.create(name=n, category=kitchen) for n in ("Mug", "Teapot"))
    cup = ProductFactory.create(name="Cup", category=kitchen, stock=0)
    now = timezone.now()
    for number in range(3):
        visitor = VisitorFactory.create(external_id=f"v{number}")
        for product in (mug, teapot, cup):
            EventFactory.create(visitor=visitor, product=product, occurred_at=now - DAY)
    pipelines.trending_compute(now=now)
    pipelines.similarity_compute(now=now)
    EventFactory.create(visitor__external_id="bob", product=mug, occurred_at=now)
    return {"mug": mug, "teapot": teapot, "cup": cup}


def test_recommend_prints_the_apis_answer_with_reasons(viewed_together):
    # One personalised product (the cup is sold out, the mug seen) makes half of k = 2.
    out, _ = run("recommend", "bob", "--k", "2")
    assert out.splitlines()[0] == "Visitor bob: strategy personalised"
    assert "Teapot" in out.splitlines()[1]
    assert "Because you just viewed Mug" in out
    assert "Cup" not in out  # sold out
    answer = json.loads(run("recommend", "bob", "--k", "2", "--json")[0])
    assert answer["strategy"] == "personalised"
    assert answer["items"][0]["product"]["name"] == "Teapot"
    by_category = run("recommend", "nobody", "--category", "kitchen")[0]
    assert "strategy category_trending" in by_category
    assert "Trending in Kitchen" in by_category


@pytest.mark.parametrize(
    "arguments", [("x", "--k", "0"), ("x", "--k", "51"), ("x", "--max-per-category", "no")]
)
def test_recommend_refuses_bad_arguments(viewed_together, arguments):
    with pytest.raises(CommandError):
        run("recommend", *arguments)


def test_recommend_refuses_an_unknown_category(viewed_together):
    with pytest.raises(CommandError, match="No category with id or slug 'garden'"):
        run("recommend", "x", "--category", "garden")


def test_explain_product_prints_neighbours_with_co_occurrence(viewed_together):
    mug = viewed_together["mug"]
    out, _ = run("explain_product", str(mug.pk))
    lines = out.splitlines()
    assert lines[0] == f"#{mug.pk} Mug"
    teapot = next(line for line in lines if "Teapot" in line)
    assert "3 visitors" in teapot
    cup = next(line for line in lines if "Cup" in line)
    assert "(not available now)" in cup
    assert "none stored" in out  # no content neighbours computed
    body = json.loads(run("explain_product", str(mug.pk), "--json", "--top", "1")[0])
    assert len(body["behavioural"]) == 1
    assert body["behavioural"][0]["co_occurrence"] == 3
    with pytest.raises(CommandError, match="No product with id 0"):
        run("explain_product", "0")


def test_evaluate_splits_at_a_date_until_the_last_event():
    from datetime import datetime

    from catalog.tests.factories import ProductFactory
    from tracking.models import EventType
    from tracking.tests.factories import EventFactory, VisitorFactory

    mug, teapot = ProductFactory.create(), ProductFactory.create()
    august = timezone.make_aware(datetime(2011, 8, 20, 12))
    september = timezone.make_aware(datetime(2011, 9, 10, 12))
    for _ in range(3):
        shopper = VisitorFactory.create()
        EventFactory.create(visitor=shopper, product=mug, occurred_at=august)
        EventFactory.create(
            visitor=shopper, product=teapot, event_type=EventType.PURCHASE, occurred_at=september
        )
    out, _ = run("evaluate", "--split-date", "2011-09-01", "--json", "--k", "5")
    figures = json.loads(out)
    pipeline_run = EvaluationRun.objects.get().pipeline_run
    assert pipeline_run is not None
    statistics = pipeline_run.statistics
    assert (statistics["train_events"], statistics["test_events"]) == (3, 3)
    assert figures["parameters"]["now"].startswith("2011-09-10T12:00:01")
    assert figures["parameters"]["test_days"] == pytest.approx(9.5, abs=0.01)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--split-date", "2011-13-01"], "invalid iso_date"),
        (["--split-date", "2011-09-01", "--test-days", "3"], "not allowed with argument"),
        (["--until", "2011-09-01"], "--until goes with --split-date"),
        (["--split-date", "2030-01-01"], "Nothing to test"),
    ],
)
def test_evaluate_refuses_a_bad_split(arguments, message):
    with pytest.raises(CommandError, match=message):
        run("evaluate", *arguments)


def test_pipelines_run_as_of_the_end_of_an_imported_history():
    from datetime import UTC, datetime

    from catalog.tests.factories import ProductFactory
    from tracking.models import EventType
    from tracking.tests.factories import EventFactory, VisitorFactory

    long_ago = datetime(2011, 9, 30, 17, 0, tzinfo=UTC)
    mug, teapot = ProductFactory.create_batch(2)
    for _ in range(2):
        buyer = VisitorFactory.create()
        for product in (mug, teapot):
            EventFactory.create(visitor=buyer, product=product, event_type=EventType.PURCHASE,
                                occurred_at=long_ago)  # fmt: skip
    run("compute_trending")
    assert not TrendingScore.objects.exists()  # nothing happened in the last 30 days
    run("compute_trending", "--as-of", "last-event")
    assert set(TrendingScore.objects.values_list("product", flat=True)) == {mug.pk, teapot.pk}
    run("compute_similarity", "--as-of", "2011-10-01")
    assert ItemSimilarity.objects.filter(product=mug, similar_product=teapot).exists()
    with pytest.raises(CommandError, match="YYYY-MM-DD or last-event"):
        call_command("compute_bought_together", "--as-of", "yesterday")
