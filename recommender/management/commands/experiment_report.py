"""Print an experiment's results: per variant its visitors, metrics with 95% intervals, the
lift against the control with its interval and p-value, the sample-ratio check and the
sample size the primary metric needs (`--json`: the API's answer)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.experiments.results import experiment_results, results_data
from recommender.models import Experiment


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The experiment's slug.")
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        experiment = Experiment.objects.filter(slug=options["slug"]).first()
        if experiment is None:
            known = ", ".join(Experiment.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No experiment {options['slug']!r} (experiments: {known}).")
        results = experiment_results(experiment)
        if options["json"]:
            self.stdout.write(json.dumps(results_data(results), indent=2))
            return
        write = self.stdout.write
        write(f"{results.experiment} ({results.status}), primary metric {results.primary_metric}")
        write(f"{results.start} to {results.end}; {results.excluded_visitors} visitors saw two "
              "variants and are left out")  # fmt: skip
        for variant in results.variants:
            role = "control" if variant.is_control else "variant"
            write(f"\n{variant.name} ({role}, {variant.configuration}, {variant.share}%): "
                  f"{variant.visitors} visitors, {variant.impressions} impressions, "
                  f"{variant.clicks} clicks, {variant.orders} orders, "
                  f"{variant.revenue:.2f} revenue")  # fmt: skip
            for metric, estimate in variant.metrics.items():
                value = estimate.value
                shown = f"{value:.4f}" if value is not None else "-"
                interval = (
                    f"[{estimate.low:.4f}, {estimate.high:.4f}]"
                    if estimate.low is not None and estimate.high is not None
                    else ""
                )
                lift = variant.lifts.get(metric)
                against = ""
                if lift is not None and lift.lift is not None:
                    against = (f"  lift {_percent(lift.lift)} [{_percent(lift.low)}, "
                               f"{_percent(lift.high)}] p={lift.p_value:.4f}"
                               + (" significant" if lift.significant else ""))  # fmt: skip
                write(f"  {metric:<20} {shown:>10} {interval:<22}{against}")
        srm = results.srm_p_value
        write(f"\nSample ratio: p={srm:.4f}" if srm is not None else "\nSample ratio: no data")
        if results.sample_ratio_mismatch:
            write("  MISMATCH: the visitors are not split as the shares say; do not trust this.")
        needed = ", ".join(f"{k} {v}" for k, v in results.sample_size_per_variant.items())
        reached = "reached" if results.sample_reached else "not reached: preliminary"
        write(f"Sample size for {results.primary_metric}: {needed} ({reached})")
