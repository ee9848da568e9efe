"""What the pipeline commands share: a progress bar, running one pipeline, its summary."""

from __future__ import annotations

import json
from argparse import ArgumentTypeError
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from infrastructure.commands import ProgressStream, iso_date
from recommender.models import PipelineRun
from recommender.pipelines import PipelineAlreadyRunningError, ProgressCallback
from recommender.selectors import events_end

LAST_EVENT = "last-event"


def _moment(value: str) -> datetime | str:
    if value == LAST_EVENT:
        return value
    try:
        return iso_date(value)
    except ValueError:
        raise ArgumentTypeError(f"expected YYYY-MM-DD or {LAST_EVENT}, not {value!r}") from None


class PipelineCommand(BaseCommand):
    def add_as_of_argument(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            type=_moment,
            metavar=f"YYYY-MM-DD|{LAST_EVENT}",
            help="compute as on that day (its start), or just after the last recorded event, "
            "instead of now: for a store whose history was imported",
        )

    def as_of(self, options: dict[str, Any]) -> datetime | None:
        """The moment --as-of names; None: now."""
        value: datetime | str | None = options.get("as_of")
        if value != LAST_EVENT:
            return value if isinstance(value, datetime) else None
        end = events_end()
        if end is None:
            raise CommandError(f"--as-of {LAST_EVENT}: there are no events yet.")
        return end

    @contextmanager
    def progress_bar(
        self, description: str, unit: str, **options: Any
    ) -> Iterator[ProgressCallback]:
        stream = ProgressStream(self.stderr)
        with tqdm(total=0, unit=f" {unit}", desc=description, file=stream,
                  disable=options.get("verbosity") == 0) as bar:  # fmt: skip

            def progress(done: int, total: int, *, phase: str | None = None) -> None:
                if phase is not None:
                    bar.set_description(f"{description}: {phase}", refresh=False)
                bar.total = total
                bar.update(done - bar.n)

            yield progress

    def run_pipeline(self, compute: Callable[[], PipelineRun]) -> PipelineRun:
        try:
            run = compute()
        except PipelineAlreadyRunningError as error:
            raise CommandError(str(error)) from error
        self.summarise(run)
        return run

    def summarise(self, run: PipelineRun) -> None:
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
