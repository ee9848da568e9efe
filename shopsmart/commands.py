"""Helpers shared by the management commands."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone


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
