"""Waiting for what a real worker does in another thread or process."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db.models import Q

from recommender.models import PipelineRun


def eventually(condition: Callable[[], bool], *, seconds: float) -> bool:
    """Whether `condition` came true within `seconds` (checked every tenth of a second)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_for_run(finished: Q, *, seconds: float) -> None:
    """Return once a pipeline run matching `finished` exists, or after `seconds`."""
    eventually(lambda: PipelineRun.objects.filter(finished).exists(), seconds=seconds)
