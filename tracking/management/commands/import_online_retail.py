from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from shopsmart.commands import positive_int
from tracking.importers.online_retail import BATCH_SIZE, online_retail_import
from tracking.importers.report import ImportFormatError


class Command(BaseCommand):
    help = (
        "Import the UCI Online Retail log (.csv or .csv.gz): products, customers and one "
        "purchase event per product and invoice. Safe to run again: nothing is imported twice. "
        "Prints what was read, imported and skipped (by reason, with the first line numbers)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        stream = cast(IO[str], self.stderr._out)
        with tqdm(unit=" lines", desc="Importing (two passes)", file=stream,
                  disable=options["verbosity"] == 0) as bar:  # fmt: skip

            def progress(done: int) -> None:
                bar.update(done - bar.n)

            try:
                report = online_retail_import(
                    path=path, batch_size=options["batch_size"], progress=progress
                )
            except ImportFormatError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(report.as_dict(), indent=2))
