from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from infrastructure.commands import positive_int
from recommender.management.commands._pipeline import PipelineCommand
from recommender.models import PipelineRun
from recommender.pipelines import CONTENT_TOP_K, content_compute


class Command(PipelineCommand):
    help = "Recompute every product's content (TF-IDF) neighbours now (the nightly job, by hand)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--top-k", type=positive_int, default=CONTENT_TOP_K)

    def handle(self, *args: Any, **options: Any) -> None:
        def compute() -> PipelineRun:
            with self.progress_bar("Content neighbours", "products", **options) as progress:
                return content_compute(top_k=options["top_k"], progress=progress)

        self.run_pipeline(compute)
