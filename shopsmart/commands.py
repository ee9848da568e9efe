"""Helpers shared by the management commands."""

from __future__ import annotations


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
