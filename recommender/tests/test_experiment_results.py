"""An experiment's results: per-variant figures with intervals, the lift against the control
with its interval and p-value, the sample-ratio check and the sample size, on visitors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from recommender.experiments.results import experiment_results
from recommender.models import Experiment, ExperimentStatus, ExperimentVariant
from tracking.models import RECOMMENDATION_ID, Event, EventType, Impression, Visitor

pytestmark = pytest.mark.django_db


def experiment(metric: str = "ctr", shares: tuple[int, int] = (50, 50)) -> Experiment:
    started = timezone.now() - timedelta(days=3)
    made = Experiment.objects.create(
        slug="lists", hypothesis="-", primary_metric=metric, status=ExperimentStatus.RUNNING,
        started_at=started, minimum_detectable_effect=0.1,
    )  # fmt: skip
    ExperimentVariant.objects.create(experiment=made, name="a", share=shares[0], is_control=True)
    ExperimentVariant.objects.create(
        experiment=made, name="b", share=shares[1], configuration="diverse"
    )
    return made


def exposed(
    made: Experiment, variant: str, *, visitors: int, impressions: int, clicked: Sequence[int],
    bought: Sequence[int] = (), prefix: str = "",
) -> None:  # fmt: skip
    """`visitors` visitors of the variant, each shown `impressions` lists; visitor i clicks
    clicked[i] of them (and buys the product clicked last if i is in `bought`)."""
    product = ProductFactory.create()
    rows = Visitor.objects.bulk_create(
        [Visitor(external_id=f"{prefix}{variant}-{i}") for i in range(visitors)]
    )
    assert made.started_at is not None
    moment = made.started_at + timedelta(hours=1)
    shown, events = [], []
    for i, visitor in enumerate(rows):
        for n in range(impressions):
            rid = f"{prefix}{variant}{i}x{n}".ljust(32, "0")[:32]
            shown.append(Impression(
                impression_id=rid, shown_at=moment, visitor=visitor, surface="api_recommended",
                experiment=made.slug, variant=variant, products=[product.pk],
            ))  # fmt: skip
            if n < clicked[i]:
                events.append(Event(
                    visitor=visitor, product=product, event_type=EventType.VIEW,
                    occurred_at=moment + timedelta(minutes=1), metadata={RECOMMENDATION_ID: rid},
                ))  # fmt: skip
        if i in bought:
            events.append(Event(
                visitor=visitor, product=product, event_type=EventType.PURCHASE,
                occurred_at=moment + timedelta(minutes=5), revenue=Decimal("10.00"),
                order_ref=f"{prefix}{variant}-order-{i}",
            ))  # fmt: skip
    Impression.objects.bulk_create(shown)
    Event.objects.bulk_create(events)


def test_per_variant_figures_and_a_visitor_who_saw_both_left_out():
    made = experiment()
    exposed(made, "a", visitors=4, impressions=2, clicked=[1, 0, 0, 1], bought=[0])
    exposed(made, "b", visitors=4, impressions=2, clicked=[2, 1, 0, 0], bought=[0, 1])
    # One visitor shown both variants.
    visitor = Visitor.objects.get(external_id="a-3")
    Impression.objects.create(
        impression_id="z" * 32, shown_at=timezone.now() - timedelta(days=1), visitor=visitor,
        surface="x", experiment=made.slug, variant="b", products=[],
    )  # fmt: skip
    results = experiment_results(made)
    a, b = results.variants
    assert results.excluded_visitors == 1
    assert (a.visitors, a.impressions, a.clicks, a.orders) == (3, 6, 1, 1)
    assert (b.visitors, b.impressions, b.clicks, b.orders, b.revenue) == (4, 8, 3, 2, 20.0)
    assert a.metrics["ctr"].value == pytest.approx(1 / 6)
    assert b.metrics["conversion_rate"].value == 0.5
    low, high = b.metrics["conversion_rate"].low, b.metrics["conversion_rate"].high
    assert low is not None
    assert high is not None
    assert low < 0.5 < high
    assert b.lifts["ctr"].lift == pytest.approx((3 / 8) / (1 / 6) - 1)
    assert not results.sample_reached


def simulated(made: Experiment, rates: dict[str, float], visitors: int, seed: int) -> None:
    prefix = f"s{seed}-"
    rng = np.random.default_rng(seed)
    for variant, rate in rates.items():
        clicks = rng.binomial(2, rate, size=visitors).tolist()
        exposed(made, variant, visitors=visitors, impressions=2, clicked=clicks, prefix=prefix)


def test_a_planted_lift_is_found_with_its_interval_and_no_lift_is_not():
    made = experiment()
    simulated(made, {"a": 0.20, "b": 0.26}, visitors=1_500, seed=7)
    # Detecting 10% takes about 3,300 visitors a variant here; 30%, about 400.
    assert 2_500 < (experiment_results(made).sample_size_per_variant["b"] or 0) < 4_500
    Experiment.objects.filter(pk=made.pk).update(minimum_detectable_effect=0.3)
    made.refresh_from_db()
    results = experiment_results(made)
    lift = results.variants[1].lifts["ctr"]
    assert lift.significant
    assert number(lift.low) < 0.3 < number(lift.high)
    assert number(results.srm_p_value) > 0.001
    assert results.sample_reached
    Impression.objects.all().delete()
    Event.objects.all().delete()
    simulated(made, {"a": 0.20, "b": 0.20}, visitors=1_500, seed=8)
    same = experiment_results(made).variants[1].lifts["ctr"]
    assert not same.significant
    assert number(same.low) < 0 < number(same.high)


def test_a_sample_ratio_mismatch_is_flagged():
    made = experiment()
    exposed(made, "a", visitors=300, impressions=1, clicked=[0] * 300)
    exposed(made, "b", visitors=200, impressions=1, clicked=[0] * 200)
    results = experiment_results(made)
    assert number(results.srm_p_value) < 0.001
    assert results.sample_ratio_mismatch


def number(value: float | None) -> float:
    assert value is not None
    return value


def test_results_over_the_api_for_staff_and_the_report_command(capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from tracking.tests.factories import role_member

    made = experiment()
    exposed(made, "a", visitors=4, impressions=2, clicked=[1, 0, 0, 1], bought=[0])
    exposed(made, "b", visitors=4, impressions=2, clicked=[2, 1, 0, 0], bought=[0, 1])
    analyst = APIClient()
    key = Token.objects.create(user=role_member("Analyst", is_staff=True)).key
    analyst.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    answer = analyst.get("/api/experiments/lists/results")
    assert answer.status_code == 200
    body = answer.json()
    assert [v["visitors"] for v in body["variants"]] == [4, 4]
    assert body["variants"][1]["lifts"]["ctr"]["lift"] == pytest.approx((3 / 8) / (2 / 8) - 1)
    assert body["sample_reached"] is False
    assert analyst.get("/api/experiments/nope/results").status_code == 404
    shopper = APIClient()
    shopper.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=role_member('Seller')).key}"
    )
    assert shopper.get("/api/experiments/lists/results").status_code == 403
    call_command("experiment_report", "lists", "--json")
    assert [v["name"] for v in json.loads(capsys.readouterr().out)["variants"]] == ["a", "b"]
    call_command("experiment_report", "lists")
    printed = capsys.readouterr().out
    assert "b (variant, diverse, 50%): 4 visitors, 8 impressions, 3 clicks, 2 orders" in printed
    assert "not reached: preliminary" in printed
    with pytest.raises(CommandError, match="No experiment 'nope'"):
        call_command("experiment_report", "nope")
