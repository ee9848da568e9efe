from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from recommender.models import ItemSimilarity, PipelineKind, PipelineStatus, TrendingScore
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
