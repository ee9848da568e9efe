from __future__ import annotations

from typing import Any

from recommender.management.commands._pipeline import PipelineCommand
from recommender.pipelines import trending_compute


class Command(PipelineCommand):
    help = "Recompute the 7-day and 30-day trending scores now (the hourly job, run by hand)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Computing trending scores...")
        self.run_pipeline(trending_compute)
