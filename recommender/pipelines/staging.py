"""A distributed run's blocks and its end: the work is split into id ranges, block tasks stage
their rows, then one task swaps them all into the served table at once, or a failed block
drops them and the served rows stay."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from django.db import connection, models, transaction
from django.utils import timezone

from infrastructure import cache
from infrastructure.bulk import table_rebuilt
from recommender.algorithms.events import IntArray
from recommender.models import PipelineRun, PipelineStatus


def id_ranges(ids: IntArray, blocks: int) -> list[tuple[int, int]]:
    """Ascending ids split into at most `blocks` ranges of about as many ids each, as (first,
    last) pairs; none for no ids."""
    return [(int(part[0]), int(part[-1])) for part in np.array_split(ids, blocks) if len(part)]


def staged_rows_swapped(
    *,
    run_id: int,
    staging: type[models.Model],
    target: type[models.Model],
    columns: Sequence[str],
    cleared: Sequence[type[models.Model]] = (),
    generation: str,
    statistics: Callable[[], dict[str, Any]],
) -> PipelineRun:
    """Copy the run's staged rows (`columns`, plus the run's `now` as computed_at) into
    `target` in one transaction that replaces every row it had, then drop what the run staged
    (its rows and `cleared`'s rows of the run). A run no longer running (finished by a
    redelivered body, or failed) is left as it is."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=run_id)
        if run.status != PipelineStatus.RUNNING:
            return run
        started = time.perf_counter()
        names = ", ".join(columns)
        with table_rebuilt(target) as table, connection.cursor() as cursor:
            cursor.execute(
                # Only table and column names from the code are formatted in; values are bound.
                f'INSERT INTO "{table}" ({names}, computed_at) '  # noqa: S608
                f"SELECT {names}, %s FROM {staging._meta.db_table} WHERE run_id = %s",
                [run.parameters["now"], run_id],
            )
            written = cursor.rowcount
        for model in (staging, *cleared):
            model._default_manager.filter(run_id=run_id).delete()
        run.status = PipelineStatus.SUCCEEDED
        run.finished_at = timezone.now()
        seconds = run.statistics.get("seconds", {}) | {
            "swap": round(time.perf_counter() - started, 3)
        }
        run.statistics |= {"rows_written": written, **statistics(), "seconds": seconds}
        run.save(update_fields=["status", "finished_at", "statistics"])
        transaction.on_commit(lambda: cache.generation_bump(generation))
    return run


def staged_run_failed(*, run_id: int, error: str, staged: Sequence[type[models.Model]]) -> None:
    """A block failed: the run fails, what it staged goes, the served rows stay."""
    with transaction.atomic():
        PipelineRun.objects.filter(pk=run_id, status=PipelineStatus.RUNNING).update(
            status=PipelineStatus.FAILED, finished_at=timezone.now(), error=error[-10_000:]
        )
        for model in staged:
            model._default_manager.filter(run_id=run_id).delete()
