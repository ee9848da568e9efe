"""Helpers shared by the management commands."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import timezone
from tqdm import tqdm

from infrastructure.imports import ImportFormatError, ImportReport, Progress


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse reports anything else)."""
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def positive_int_list(value: str) -> tuple[int, ...]:
    """An argparse type: comma-separated whole numbers of at least 1, e.g. "5,10,20"."""
    numbers = tuple(sorted({positive_int(part.strip()) for part in value.split(",")}))
    if not numbers:
        raise ValueError(value)
    return numbers


def iso_date(value: str) -> datetime:
    """An argparse type: a YYYY-MM-DD date, as the midnight that starts it (current time zone)."""
    day = date.fromisoformat(value)
    return timezone.make_aware(datetime.combine(day, time.min))


class ImportCommand(BaseCommand):
    """An importer's command: PATH and --batch-size, a progress bar, the report as JSON, and a
    command error (non-zero exit) for a missing file or one of another format."""

    importer: Callable[..., ImportReport]
    default_batch_size: int

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--batch-size", type=positive_int, default=self.default_batch_size)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        bars = PhaseBars(ProgressStream(self.stderr), disable=options["verbosity"] == 0)
        try:
            report = type(self).importer(path=path, batch_size=options["batch_size"], progress=bars)
        except ImportFormatError as error:
            raise CommandError(str(error)) from error
        finally:
            bars.close()
        self.stdout.write(json.dumps(report.as_dict(), indent=2))


class PhaseBars(Progress):
    """One progress bar per pass of an importer: a new phase closes the last bar full and
    opens the next, so every bar counts the lines of one pass of the file."""

    def __init__(self, stream: io.TextIOBase, *, disable: bool) -> None:
        self._stream = stream
        self._disable = disable
        self._bar: tqdm[Any] | None = None
        self._phase: str | None = None

    def __call__(self, done: int, *, phase: str = "Importing", total: int | None = None) -> None:
        bar = self._bar
        if bar is None or phase != self._phase:
            self.close()
            self._phase = phase
            bar = self._bar = tqdm(total=total, unit=" lines", desc=phase, file=self._stream,
                                   disable=self._disable)  # fmt: skip
        bar.update(done - bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class ProgressStream(io.TextIOBase):
    """A command's stderr as a stream for tqdm. tqdm redraws its bar with "\\r"; written through
    Django's OutputWrapper as it is, every redraw would end with a newline (OutputWrapper adds
    its `ending` unless told otherwise, and colour it as an error on a terminal), so each write
    is passed on as it is."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        super().__init__()
        self._wrapper = wrapper

    def write(self, text: str) -> int:
        self._wrapper.write(text, style_func=_plain, ending="")
        return len(text)

    def flush(self) -> None:
        self._wrapper.flush()


def _plain(text: str) -> str:
    return text
