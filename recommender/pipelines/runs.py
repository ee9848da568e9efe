"""Pipeline runs: claiming one (at most one active run per pipeline), holding it while it
runs, recording its outcome, and failing runs whose process was lost.

Each run is recorded as a PipelineRun. Claiming a run inserts a row that the database allows
only once per pipeline while queued or running (a partial unique constraint), so two runs of
one pipeline never overlap, on one machine or many.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from recommender.algorithms.progress import Progress
from recommender.models import ACTIVE_PIPELINE_STATUSES, PipelineKind, PipelineRun, PipelineStatus

# (done, total) after each unit of work, and the phase under way, for progress bars.
ProgressCallback = Progress


class PipelineAlreadyRunningError(Exception):
    pass


@dataclass
class RunRecorder:
    run: PipelineRun
    statistics: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.statistics.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 3)


def _stale_after() -> timedelta:
    """A run still "running" after the task's hard time limit was lost with its worker."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


# A held run's process holds a session-level advisory lock keyed (RUN_LOCKS, run id) on
# PostgreSQL. The server releases it when that session ends, however the process ended (kill -9,
# a lost machine), so a run whose lock nobody holds has lost its process. Workers need their
# own sessions (direct, or session pooling): behind a transaction-pooling proxy the lock lives on
# whichever server connection took it, and would not track the process (docs/scaling.md).
RUN_LOCKS = 7_301


def _locks_supported() -> bool:
    return connection.vendor == "postgresql"


def _run_hold(run_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RUN_LOCKS, run_id])
        (taken,) = cursor.fetchone() or (False,)
    if not taken:  # a new run's id: only a session that outlived its database could hold it
        raise RuntimeError(f"The lock of run #{run_id} is held by another session.")


def _run_release(run_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCKS, run_id])


def pipeline_runs_held() -> set[int]:
    """The ids of the runs whose lock some session of this database holds now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objsubid = 2"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [RUN_LOCKS],
        )
        return {run_id for (run_id,) in cursor.fetchall()}


def pipeline_runs_abandoned_fail(*, kind: PipelineKind) -> None:
    """Mark this pipeline's lost runs as failed: a held run whose process has ended, and any
    run still active past the task's hard time limit."""
    now = timezone.now()
    active = PipelineRun.objects.filter(kind=kind, status__in=ACTIVE_PIPELINE_STATUSES)
    if _locks_supported():
        # A run becomes visible only with its lock held, and is finished before it is released.
        active.filter(status=PipelineStatus.RUNNING, held=True).exclude(
            pk__in=pipeline_runs_held()
        ).update(
            status=PipelineStatus.FAILED,
            finished_at=now,
            error="Abandoned: the process running it ended mid-run (worker lost). "
            "Nothing it computed was kept; the previous results are still served.",
        )
    active.filter(created_at__lt=now - _stale_after()).update(
        status=PipelineStatus.FAILED,
        finished_at=now,
        error="Abandoned: still running past the time limit (worker lost).",
    )


def pipeline_run_claim(
    *,
    kind: PipelineKind,
    parameters: dict[str, Any],
    queued_run: int | None = None,
    held: bool = True,
) -> PipelineRun:
    """Insert this pipeline's running run, or start `queued_run` (enqueued by an operator);
    refuse if another run of it is active, or if the queued run was started already (a
    redelivered task) or abandoned. A `held` run is run to the end by the calling process,
    which holds its lock (released by pipeline_run_release) meanwhile."""
    pipeline_runs_abandoned_fail(kind=kind)
    now = timezone.now()
    held = held and _locks_supported()
    running = {"status": PipelineStatus.RUNNING, "started_at": now, "held": held}
    try:
        with transaction.atomic():
            if queued_run is None:
                run = PipelineRun.objects.create(kind=kind, parameters=parameters, **running)
            elif PipelineRun.objects.filter(
                pk=queued_run, kind=kind, status=PipelineStatus.QUEUED
            ).update(parameters=parameters, **running):
                run = PipelineRun.objects.get(pk=queued_run)
            else:
                raise PipelineAlreadyRunningError(f"Run #{queued_run} is no longer queued.")
            if held:
                # Taken before the commit makes the run visible as running, and kept after it.
                _run_hold(run.pk)
    except IntegrityError as error:
        raise PipelineAlreadyRunningError(
            f"The {PipelineKind(kind).label.lower()} pipeline is already running."
        ) from error
    return run


def pipeline_run_release(run: PipelineRun) -> None:
    if run.held:
        _run_release(run.pk)


@contextmanager
def recorded_run(
    kind: PipelineKind, parameters: dict[str, Any], queued_run: int | None
) -> Iterator[RunRecorder]:
    recorder = RunRecorder(
        pipeline_run_claim(kind=kind, parameters=parameters, queued_run=queued_run)
    )
    run = recorder.run
    try:
        yield recorder
    except BaseException:
        run.status = PipelineStatus.FAILED
        run.error = traceback.format_exc()[-10_000:]
        raise
    else:
        run.status = PipelineStatus.SUCCEEDED
    finally:
        run.finished_at = timezone.now()
        run.statistics = recorder.statistics
        run.save(update_fields=["status", "error", "finished_at", "statistics"])
        pipeline_run_release(run)
