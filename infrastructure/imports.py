"""What every importer shares: reading a CSV file (plain or gzipped) and the report of what was
read, imported and skipped, with the first line numbers of each reason to skip."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

# How many line numbers are kept per skip reason, for a person to look at.
EXAMPLE_LINES = 5


# PostgreSQL text cannot hold NUL, and no real name or id contains one: such a row is
# skipped for this reason by every importer.
NUL_BYTE = "nul_byte_in_a_field"


def has_nul_byte(row: dict[str, str]) -> bool:
    return any("\x00" in value for value in row.values())


class Progress(Protocol):
    """How an importer reports progress: lines done in the current pass (`phase`), out of
    `total` when it is known. A file read twice reports two passes, each counting its lines."""

    def __call__(
        self, done: int, *, phase: str = "Importing", total: int | None = None
    ) -> None: ...


class ImportFormatError(Exception):
    """The file is not of the expected format; nothing was imported."""


def open_text(path: Path) -> IO[str]:
    """The file as text, gunzipped when it is a .gz."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def csv_rows(
    path: Path, *, kind: str, columns: Sequence[str], required: Sequence[str] | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row with values stripped) of each data line of a CSV file with a header;
    ImportFormatError when a required column (default: all of `columns`) is missing or the file
    cannot be read, so a file of another format is refused on its first line."""
    try:
        with open_text(path) as text:
            reader = csv.DictReader(text)
            header = reader.fieldnames or []
            missing = [c for c in (columns if required is None else required) if c not in header]
            if missing:
                raise ImportFormatError(
                    f"{path.name} is not {kind}: missing column(s) {', '.join(missing)} "
                    f"(expected {','.join(columns)})."
                )
            for row in reader:
                yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, OSError, csv.Error) as error:
        raise ImportFormatError(f"{path.name} cannot be read as UTF-8 CSV: {error}") from error


@dataclass
class ImportReport:
    rows_read: int = 0
    # What the import wrote (new rows; rows already there from an earlier run are not counted).
    created: Counter[str] = field(default_factory=Counter)
    already_imported: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=dict)

    def skip(self, reason: str, line: int) -> None:
        self.skipped[reason] += 1
        lines = self.examples.setdefault(reason, [])
        if len(lines) < EXAMPLE_LINES:
            lines.append(line)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "created": dict(self.created),
            "already_imported": self.already_imported,
            "skipped": {
                reason: {"rows": n, "first_lines": self.examples[reason]}
                for reason, n in sorted(self.skipped.items())
            },
        }
