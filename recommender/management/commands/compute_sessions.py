from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from recommender.management.commands._pipeline import PipelineCommand
from recommender.pipelines import sessions_compute


class Command(PipelineCommand):
    help = "Rebuild the session index live recommendations read (the 10-minute job, by hand)."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_as_of_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.as_of(options)
        self.stdout.write("Indexing recent sessions...")
        self.run_pipeline(lambda: sessions_compute(now=now))
