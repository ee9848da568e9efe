"""Run a simulated A/B test end to end through the real services (assignment, impressions,
clicks, carts, orders) with a planted lift in click-through rate, print its results, and
delete what it wrote (recommender.experiments.simulation). Refused while an experiment runs
on the recommendations."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.experiments.results import results_data
from recommender.experiments.simulation import (
    Simulation,
    SimulationRefusedError,
    experiment_simulate,
)


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--visitors", type=int, default=2_000, help="Visitors (both arms).")
        parser.add_argument("--impressions", type=int, default=3, help="Lists each is shown.")
        parser.add_argument("--ctr", type=_fraction, default=0.3, help="Control's CTR.")
        parser.add_argument("--lift", type=float, default=0.1, help="Planted relative lift.")
        parser.add_argument("--mde", type=_fraction, default=0.1, help="Minimum detectable effect.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--keep", action="store_true", help="Keep what it wrote.")
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["visitors"] < 2 or options["impressions"] < 1:
            raise CommandError("--visitors is at least 2 and --impressions at least 1.")
        if not -1 < options["lift"] <= 10:
            raise CommandError("--lift is a relative change above -1 (0.1: +10%).")
        simulation = Simulation(
            visitors=options["visitors"],
            impressions_per_visitor=options["impressions"],
            ctr=options["ctr"],
            lift=options["lift"],
            minimum_detectable_effect=options["mde"],
            seed=options["seed"],
        )
        try:
            outcome = experiment_simulate(simulation, keep=options["keep"])
        except SimulationRefusedError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(results_data(outcome.results), indent=2))
            return
        control, treatment = outcome.results.variants
        lift = "-" if outcome.lift is None else f"{100 * outcome.lift:+.2f}%"
        p_value = "-" if outcome.p_value is None else f"{outcome.p_value:.4f}"
        verdict = "significant" if outcome.significant else "not significant"
        self.stdout.write(
            f"{outcome.results.experiment}: control {control.visitors} visitors, CTR "
            f"{control.metrics['ctr'].value:.4f}; treatment {treatment.visitors} visitors, CTR "
            f"{treatment.metrics['ctr'].value:.4f}; lift {lift}, p={p_value} ({verdict}); "
            f"sample size per variant {outcome.results.sample_size_per_variant}"
        )
