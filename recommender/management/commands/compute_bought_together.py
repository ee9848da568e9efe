from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from infrastructure.commands import positive_int
from recommender.algorithms.bought_together import DEFAULT_MIN_BASKETS, DEFAULT_TOP_K
from recommender.management.commands._pipeline import PipelineCommand
from recommender.models import PipelineRun
from recommender.pipelines import BOUGHT_TOGETHER_HISTORY_DAYS, bought_together_compute


class Command(PipelineCommand):
    help = 'Recompute every product\'s "frequently bought together" products now (the nightly job).'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=positive_int, default=BOUGHT_TOGETHER_HISTORY_DAYS)
        parser.add_argument("--top-k", type=positive_int, default=DEFAULT_TOP_K)
        parser.add_argument("--min-baskets", type=positive_int, default=DEFAULT_MIN_BASKETS)
        self.add_as_of_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.as_of(options)

        def compute() -> PipelineRun:
            with self.progress_bar("Bought together", "products", **options) as progress:
                return bought_together_compute(
                    now=now,
                    days=options["days"],
                    top_k=options["top_k"],
                    min_baskets=options["min_baskets"],
                    progress=progress,
                )

        self.run_pipeline(compute)
