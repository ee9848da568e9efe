from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from recommender.management.commands._pipeline import PipelineCommand
from recommender.pipelines import trending_compute


class Command(PipelineCommand):
    help = "Recompute the 7-day and 30-day trending scores now (the hourly job, run by hand)."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_as_of_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.as_of(options)
        self.stdout.write("Computing trending scores...")
        self.run_pipeline(lambda: trending_compute(now=now))
