"""A simulated experiment, end to end through the real services: an experiment is designed
and started (experiments.services), synthetic visitors are assigned by the served
assignment, shown lists (tracking.impressions, through the buffer), click some of them with a
planted click-through rate per variant, add some of the clicked products to the cart and buy
some (tracking.services.events_record), and the results are computed as for any experiment
(experiments.results). Then the experiment is stopped and, unless kept, everything it wrote
is deleted.

What it proves: with no planted difference (an A/A test) about 5% of experiments come out
significant at alpha 0.05, and with a planted lift and the sample size the power analysis
asks for, about 80% or more do (bench/experiments.py runs it hundreds of times).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
from django.db import transaction

from catalog.models import Category, Product
from recommender.experiments.assignment import assignment
from recommender.experiments.results import Results, experiment_results
from recommender.experiments.services import experiment_start, experiment_stop
from recommender.models import (
    Experiment,
    ExperimentMetric,
    ExperimentStatus,
    ExperimentSurface,
    ExperimentVariant,
    Surface,
)
from tracking.impressions import Shown, impression_record, impressions_flush
from tracking.models import RECOMMENDATION_ID, EventType, Visitor
from tracking.services import EventInput, events_record

# What a simulated visitor does after a click: add the product to the cart, then buy it.
CART_AFTER_CLICK = 0.3
BUY_AFTER_CART = 0.5
LIST_LENGTH = 4
# What a simulation's experiments and visitors are named after.
SIMULATED = "simulated-"
PRODUCTS = 20


class SimulationRefusedError(Exception):
    """The simulation would disturb the shop (an experiment runs on the list it needs)."""


@dataclass(frozen=True)
class Simulation:
    visitors: int
    impressions_per_visitor: int = 3
    ctr: float = 0.3
    # The treatment's planted relative lift in click-through rate (0: an A/A test).
    lift: float = 0.0
    minimum_detectable_effect: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class SimulationOutcome:
    results: Results
    p_value: float | None
    lift: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


def experiment_simulate(simulation: Simulation, *, keep: bool = False) -> SimulationOutcome:
    """Run one simulated experiment with CTR as its primary metric; see the module."""
    if ExperimentSurface.objects.filter(surface=Surface.RECOMMENDED, running=True).exists():
        raise SimulationRefusedError(
            "An experiment is running on the recommendations: stop it before simulating."
        )
    rng = np.random.default_rng(simulation.seed)
    products = _products()
    experiment = _designed(simulation)
    experiment = experiment_start(experiment=experiment)
    prefix = f"{SIMULATED}{simulation.seed}:"
    try:
        for start in range(0, simulation.visitors, 1_000):
            stop = min(start + 1_000, simulation.visitors)
            _visit(simulation, experiment, [f"{prefix}{i}" for i in range(start, stop)],
                   products, rng)  # fmt: skip
        impressions_flush()
        experiment = experiment_stop(experiment=experiment)
        results = experiment_results(experiment)
    finally:
        if experiment.status == ExperimentStatus.RUNNING:
            experiment_stop(experiment=experiment)
        if not keep:
            _forget(experiment, prefix)
    lift = results.variants[1].lifts[ExperimentMetric.CTR]
    return SimulationOutcome(results=results, p_value=lift.p_value, lift=lift.lift)


def _designed(simulation: Simulation) -> Experiment:
    experiment = Experiment.objects.create(
        slug=f"{SIMULATED}{secrets.token_hex(4)}",
        hypothesis=f"Simulated: CTR {simulation.ctr}, planted lift {simulation.lift}.",
        primary_metric=ExperimentMetric.CTR,
        minimum_detectable_effect=simulation.minimum_detectable_effect,
        # From the seed, so that a simulation is repeatable (the visitors' ids are too).
        salt=f"simulation-{simulation.seed}",
    )
    ExperimentVariant.objects.create(experiment=experiment, name="control", share=50,
                                     is_control=True)  # fmt: skip
    ExperimentVariant.objects.create(experiment=experiment, name="treatment", share=50)
    ExperimentSurface.objects.create(experiment=experiment, surface=Surface.RECOMMENDED)
    return experiment


def _products() -> list[int]:
    """Products to show: the shop's first, or a few made for the simulation."""
    found = list(Product.objects.order_by("id").values_list("id", flat=True)[:PRODUCTS])
    if found:
        return found
    category, _ = Category.objects.get_or_create(slug="simulation", defaults={"name": "Simulation"})
    made = Product.objects.bulk_create(
        Product(
            name=f"Simulated {i}", slug=f"simulated-{i}", price=10, stock=1_000, category=category
        )
        for i in range(PRODUCTS)
    )
    return [p.pk for p in made]


def _visit(
    simulation: Simulation,
    experiment: Experiment,
    visitors: list[str],
    products: list[int],
    rng: np.random.Generator,
) -> None:
    events: list[EventInput] = []
    for visitor in visitors:
        assigned = assignment(Surface.RECOMMENDED, visitor)
        if assigned is None or assigned.experiment != experiment.slug:
            raise RuntimeError("The simulated experiment is not the one assigning.")
        planted = simulation.lift if assigned.variant == "treatment" else 0.0
        ctr = simulation.ctr * (1 + planted)
        for _ in range(simulation.impressions_per_visitor):
            shown = rng.choice(products, size=LIST_LENGTH, replace=False).tolist()
            rid = impression_record(
                Shown(
                    "api_recommended",
                    shown,
                    visitor,
                    strategy="personalized",
                    experiment=assigned.experiment,
                    variant=assigned.variant,
                )
            )
            if rng.random() >= min(ctr, 1.0):
                continue
            product = shown[0]
            events.append(EventInput(visitor, product, EventType.VIEW,
                                     metadata={RECOMMENDATION_ID: rid}))  # fmt: skip
            if rng.random() < CART_AFTER_CLICK:
                events.append(EventInput(visitor, product, EventType.ADD_TO_CART))
                if rng.random() < BUY_AFTER_CART:
                    events.append(EventInput(visitor, product, EventType.PURCHASE,
                                             metadata={"order": f"{rid}-order"}))  # fmt: skip
    if events:
        events_record(events=events)


@transaction.atomic
def simulations_forget() -> int:
    """Delete what interrupted simulations left (a killed process cannot clean up after
    itself): their experiments, running or not, and their visitors. Returns how many
    experiments."""
    Visitor.objects.filter(external_id__startswith=SIMULATED).delete()
    deleted, _ = Experiment.objects.filter(slug__startswith=SIMULATED).delete()
    return deleted


@transaction.atomic
def _forget(experiment: Experiment, prefix: str) -> None:
    """Delete what the simulation wrote: its visitors (their impressions and events go with
    them) and the experiment."""
    Visitor.objects.filter(external_id__startswith=prefix).delete()
    experiment.delete()
