from __future__ import annotations

from argparse import ArgumentTypeError
from typing import Any

from django.core.management.base import CommandParser

from recommender.configuration import LIVE_RANKER_CONFIG
from recommender.management.commands._pipeline import PipelineCommand
from recommender.models import PipelineRun
from recommender.pipelines import live_ranking_compute


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ArgumentTypeError(f"expected a whole number of orders, at least 1: {text!r}")
    return value


class Command(PipelineCommand):
    help = "Learn the request-time ranking of live candidates (the nightly job, by hand)."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_as_of_argument(parser)
        parser.add_argument(
            "--min-orders",
            type=_count,
            default=LIVE_RANKER_CONFIG.min_orders,
            metavar="N",
            help="learn only from at least N orders of 4 products or more (default "
            f"{LIVE_RANKER_CONFIG.min_orders}: fewer teach the model noise, and the blend of "
            "V-SKNN and neighbours serves)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.as_of(options)

        def compute() -> PipelineRun:
            with self.progress_bar("Live ranking", "steps", **options) as progress:
                return live_ranking_compute(
                    now=now, min_orders=options["min_orders"], progress=progress
                )

        self.run_pipeline(compute)
