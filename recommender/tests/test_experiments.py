"""Experiments: deterministic, sticky assignment; one running experiment per list, enforced by
the database; the variant's configuration served and recorded with each impression."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import IntegrityError, transaction

from catalog.tests.factories import CategoryFactory, ProductFactory
from recommender.algorithms.experiments import variant_index
from recommender.experiments.services import ExperimentError, experiment_start, experiment_stop
from recommender.models import (
    Experiment,
    ExperimentStatus,
    ExperimentSurface,
    ExperimentVariant,
    Surface,
)
from recommender.tests.factories import TrendingScoreFactory
from tracking.impressions import impressions_flush
from tracking.models import Impression

pytestmark = pytest.mark.django_db


def designed(slug: str, *variants: tuple[str, str, int], surface: str = Surface.RECOMMENDED):
    experiment = Experiment.objects.create(slug=slug, hypothesis="A diverse list sells more.")
    for index, (name, configuration, share) in enumerate(variants):
        ExperimentVariant.objects.create(
            experiment=experiment,
            name=name,
            configuration=configuration,
            share=share,
            is_control=index == 0,
        )
    if surface:
        ExperimentSurface.objects.create(experiment=experiment, surface=surface)
    return experiment


AB = (("control", "served", 50), ("diverse", "diverse", 50))


def test_assignment_is_deterministic_proportional_and_independent_between_experiments():
    units = [f"visitor-{i}" for i in range(20_000)]
    first = [variant_index("salt-a", u, [50, 50]) for u in units]
    assert first == [variant_index("salt-a", u, [50, 50]) for u in units]
    assert abs(Counter(first)[0] / len(units) - 0.5) < 0.015
    skewed = Counter(variant_index("salt-a", u, [90, 10]) for u in units)
    assert abs(skewed[1] / len(units) - 0.1) < 0.01
    # Another experiment's split is unrelated to this one's.
    second = [variant_index("salt-b", u, [50, 50]) for u in units]
    together = Counter(zip(first, second, strict=True))
    assert all(abs(n / len(units) - 0.25) < 0.015 for n in together.values())


@pytest.mark.parametrize(
    ("variants", "surface", "problem"),
    [
        ((("control", "served", 100),), Surface.RECOMMENDED, "at least two variants"),
        ((("control", "served", 50), ("b", "diverse", 40)), Surface.RECOMMENDED, "add up to 100"),
        (AB, "", "the list it runs on"),
    ],
    ids=["one variant", "shares", "no list"],
)
def test_a_design_that_cannot_run_is_refused_with_its_reasons(variants, surface, problem):
    experiment = designed("bad", *variants, surface=surface)
    with pytest.raises(ExperimentError) as refused:
        experiment_start(experiment=experiment)
    assert any(problem in reason for reason in refused.value.args[0])
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.DRAFT


def test_one_running_experiment_per_list_and_the_database_enforces_it():
    first = experiment_start(experiment=designed("first", *AB))
    assert first.status == ExperimentStatus.RUNNING
    second = designed("second", *AB)
    with pytest.raises(ExperimentError, match="Another experiment"):
        experiment_start(experiment=second)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExperimentSurface.objects.filter(experiment=second).update(running=True)
    experiment_stop(experiment=first)
    assert experiment_start(experiment=second).status == ExperimentStatus.RUNNING


@pytest.fixture
def crowded_category():
    kitchen = CategoryFactory.create(name="Kitchen")
    garden = CategoryFactory.create(name="Garden")
    for score in range(8):
        TrendingScoreFactory.create(
            product=ProductFactory.create(category=kitchen, stock=3), score=10.0 + score
        )
    for score in range(4):
        TrendingScoreFactory.create(
            product=ProductFactory.create(category=garden, stock=3), score=float(score)
        )
    return kitchen


def test_each_visitor_gets_their_variants_list_every_time_and_it_is_recorded(crowded_category, api):
    # A list cached before the start is not served after it: the assignment is cached with it.
    before = api.get("/api/recommendations", {"visitor": "shopper-0", "k": 6}).json()
    assert (before["experiment"], before["variant"]) == (None, None)
    experiment = experiment_start(experiment=designed("diversity", *AB))
    seen: dict[str, str] = {}
    for i in range(12):
        visitor = f"shopper-{i}"
        answers = [api.get("/api/recommendations", {"visitor": visitor, "k": 6}).json()
                   for _ in range(2)]  # fmt: skip
        assert answers[0]["variant"] == answers[1]["variant"]
        answer = answers[0]
        assert answer["experiment"] == "diversity"
        seen[visitor] = answer["variant"]
        categories = Counter(item["product"]["category"]["id"] for item in answer["items"])
        expected = 2 if answer["variant"] == "diverse" else 6
        assert categories[crowded_category.pk] == expected
    assert set(seen.values()) == {"control", "diverse"}
    impressions_flush()
    recorded = Impression.objects.filter(experiment=experiment.slug)
    assert recorded.count() == 24  # the answer before the start named no experiment
    assert {(r.visitor.external_id, r.variant) for r in recorded if r.visitor} == set(seen.items())
    # Stopped: everyone gets the served list, no experiment named.
    experiment_stop(experiment=experiment)
    after = api.get("/api/recommendations", {"visitor": "shopper-0", "k": 6}).json()
    assert (after["experiment"], after["variant"]) == (None, None)
