"""What the pipeline commands share: running one pipeline and summarising its run."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError

from recommender.models import PipelineRun
from recommender.pipelines import PipelineAlreadyRunningError


class PipelineCommand(BaseCommand):
    def run_pipeline(self, compute: Callable[[], PipelineRun]) -> PipelineRun:
        try:
            run = compute()
        except PipelineAlreadyRunningError as error:
            raise CommandError(str(error)) from error
        seconds = run.statistics.get("seconds", {})
        phases = ", ".join(f"{phase} {value:.2f} s" for phase, value in seconds.items())
        figures = {k: v for k, v in run.statistics.items() if k != "seconds"}
        self.stdout.write(
            self.style.SUCCESS(
                f"{run.get_kind_display()} run #{run.pk} {run.status} in "
                f"{run.duration_seconds or 0:.2f} s ({phases})."
            )
        )
        self.stdout.write(json.dumps(figures, indent=2))
        return run
