from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from recommender.models import (
    ContentSimilarity,
    EvaluationRun,
    ItemSimilarity,
    PipelineKind,
    PipelineStatus,
    TrendingScore,
)
from recommender.tests.factories import PipelineRunFactory

pytestmark = pytest.mark.django_db(transaction=True)


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
    assert set(tiered) == {"all", "discovery"}
    assert 0.0 <= tiered["all"]["hit_rate@20"] <= 1.0
    assert tiered["all"]["visitors"] == figures["visitors_evaluated"]


@pytest.mark.parametrize("arguments", [["--k", "0"], ["--k", "five"], ["--test-days", "-1"]])
def test_evaluate_rejects_bad_arguments_with_usage_errors(arguments):
    with pytest.raises(CommandError, match="invalid"):
        run("evaluate", *arguments)
