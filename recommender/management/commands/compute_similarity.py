from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from infrastructure.commands import positive_int
from recommender.algorithms.item_similarity import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_MIN_COMMON_VISITORS,
    DEFAULT_TOP_K,
)
from recommender.management.commands._pipeline import PipelineCommand
from recommender.models import PipelineRun
from recommender.pipelines import SIMILARITY_HISTORY_DAYS, similarity_compute


class Command(PipelineCommand):
    help = "Recompute every product's item-to-item neighbours now (the nightly job, by hand)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=positive_int, default=SIMILARITY_HISTORY_DAYS,
                            help="history to learn from")  # fmt: skip
        parser.add_argument("--top-k", type=positive_int, default=DEFAULT_TOP_K)
        parser.add_argument("--min-common-visitors", type=positive_int,
                            default=DEFAULT_MIN_COMMON_VISITORS)  # fmt: skip
        parser.add_argument("--block-size", type=positive_int, default=DEFAULT_BLOCK_SIZE)
        self.add_as_of_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.as_of(options)

        def compute() -> PipelineRun:
            with self.progress_bar("Neighbours", "products", **options) as progress:
                return similarity_compute(
                    now=now,
                    days=options["days"],
                    top_k=options["top_k"],
                    min_common_visitors=options["min_common_visitors"],
                    block_size=options["block_size"],
                    progress=progress,
                )

        self.run_pipeline(compute)
