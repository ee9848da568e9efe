from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from recommender.management.commands._pipeline import PipelineCommand
from recommender.pipelines import live_ranking_compute


class Command(PipelineCommand):
    help = "Learn the request-time ranking of live candidates (the nightly job, by hand)."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_as_of_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.as_of(options)
        self.stdout.write("Learning the live ranking from recent orders...")
        self.run_pipeline(lambda: live_ranking_compute(now=now))
