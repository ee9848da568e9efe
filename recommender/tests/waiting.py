"""Waiting for what a real worker does in another thread."""

from __future__ import annotations

import time

from django.db.models import Q

from recommender.models import PipelineRun


def wait_for_run(finished: Q, *, seconds: float) -> None:
    """Return once a pipeline run matching `finished` exists, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if PipelineRun.objects.filter(finished).exists():
            return
        time.sleep(0.2)
