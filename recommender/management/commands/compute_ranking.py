from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from recommender.management.commands._pipeline import PipelineCommand
from recommender.models import PipelineRun
from recommender.pipelines import ranking_compute


class Command(PipelineCommand):
    help = (
        "Relearn the ranker from the store's history and store each returning buyer's list of "
        "new products now (the nightly job)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_as_of_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.as_of(options)

        def compute() -> PipelineRun:
            with self.progress_bar("Learned ranking", "steps", **options) as progress:
                return ranking_compute(now=now, progress=progress)

        self.run_pipeline(compute)
