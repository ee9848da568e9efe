"""Helpers shared by the management commands."""

from __future__ import annotations


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse reports anything else)."""
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number
