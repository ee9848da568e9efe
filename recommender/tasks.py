"""Celery tasks: thin, named wrappers around the pipelines, safe to run twice.

A second run while one is active is refused by the pipeline (and logged, not retried); a run
repeated later recomputes and replaces the same results. `queued_run` is the run an operator
enqueued (recommender.services.pipeline_enqueue): the task starts that run, once. Scheduling
lives in schedules.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Task, chord, shared_task
from django.utils.dateparse import parse_datetime

from recommender import pipelines
from recommender.models import EvaluationRun, PipelineRun

logger = logging.getLogger(__name__)

HOUR = 60 * 60
# A run enqueued by hand that no worker started within this many seconds is dropped (it shows
# as queued until the abandoned-run sweep fails it).
ENQUEUED_EXPIRES = 15 * 60


def _run(
    compute: Callable[..., PipelineRun | EvaluationRun], now: str | None, queued_run: int | None
) -> int | None:
    moment = parse_datetime(now) if now else None
    try:
        run = compute(now=moment, queued_run=queued_run)
    except pipelines.PipelineAlreadyRunningError as error:
        logger.info("Skipped: %s", error)
        return None
    return int(run.pk)


@shared_task(name="recommender.compute_trending", acks_late=True,
             soft_time_limit=10 * 60, time_limit=11 * 60)  # fmt: skip
def compute_trending(now: str | None = None, queued_run: int | None = None) -> int | None:
    """Recompute trending scores; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.trending_compute, now, queued_run)


# The hard limit stays within CELERY_TASK_TIME_LIMIT, after which a run counts as abandoned.
@shared_task(name="recommender.compute_similarity", acks_late=True,
             soft_time_limit=55 * 60, time_limit=HOUR)  # fmt: skip
def compute_similarity(now: str | None = None, queued_run: int | None = None) -> int | None:
    """Recompute item-to-item neighbours; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.similarity_compute, now, queued_run)


@shared_task(name="recommender.compute_content_similarity", acks_late=True,
             soft_time_limit=25 * 60, time_limit=30 * 60)  # fmt: skip
def compute_content_similarity(now: str | None = None, queued_run: int | None = None) -> int | None:
    """Recompute content neighbours; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.content_compute, now, queued_run)


# A refresh that finds the content pipeline running waits for it, up to half an hour.
CONTENT_REFRESH_RETRY_SECONDS = 60


@shared_task(name="recommender.refresh_content", bind=True, acks_late=True, max_retries=30,
             soft_time_limit=10 * 60, time_limit=11 * 60)  # fmt: skip
def refresh_content(self: Task[..., int], product_ids: list[int]) -> int:
    """Content neighbours for new or re-described products now; returns the PipelineRun id.
    Retried while the content pipeline runs: the refresh must not be lost to the night."""
    try:
        return int(pipelines.content_refresh(product_ids=product_ids).pk)
    except pipelines.PipelineAlreadyRunningError as error:
        raise self.retry(exc=error, countdown=CONTENT_REFRESH_RETRY_SECONDS) from error


@shared_task(name="recommender.compute_sessions", acks_late=True,
             soft_time_limit=4 * 60, time_limit=5 * 60)  # fmt: skip
def compute_sessions(now: str | None = None, queued_run: int | None = None) -> int | None:
    """Rebuild the session index; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.sessions_compute, now, queued_run)


@shared_task(name="recommender.compute_live_ranking", acks_late=True,
             soft_time_limit=55 * 60, time_limit=HOUR)  # fmt: skip
def compute_live_ranking(now: str | None = None, queued_run: int | None = None) -> int | None:
    """Relearn the live ranking; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.live_ranking_compute, now, queued_run)


@shared_task(name="recommender.compute_bought_together", acks_late=True,
             soft_time_limit=25 * 60, time_limit=30 * 60)  # fmt: skip
def compute_bought_together(now: str | None = None, queued_run: int | None = None) -> int | None:
    """Recompute "bought together" pairs; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.bought_together_compute, now, queued_run)


@shared_task(name="recommender.compute_ranking", acks_late=True,
             soft_time_limit=55 * 60, time_limit=HOUR)  # fmt: skip
def compute_ranking(now: str | None = None, queued_run: int | None = None) -> int | None:
    """Relearn the ranker and its lists; returns the PipelineRun id (None if one was running)."""
    return _run(pipelines.ranking_compute, now, queued_run)


@shared_task(name="recommender.evaluate", acks_late=True,
             soft_time_limit=25 * 60, time_limit=30 * 60)  # fmt: skip
def evaluate(now: str | None = None, queued_run: int | None = None) -> int | None:
    """Evaluate the recommenders on the last week; returns the EvaluationRun id."""
    return _run(pipelines.evaluation_compute, now, queued_run)


def _chord(
    begin: Callable[..., tuple[PipelineRun, list[tuple[int, int]]]],
    blocks: int,
    now: str | None,
    tasks: tuple[Task[..., int], Task[..., int], Task[..., None]],
) -> int | None:
    """Begin a distributed run and start its chord: a block task per range, then the swap (or,
    if a block fails for good, the failure). With no range the swap runs at once."""
    block, swap, failed = tasks
    try:
        run, ranges = begin(blocks=blocks, now=parse_datetime(now) if now else None)
    except pipelines.PipelineAlreadyRunningError as error:
        logger.info("Skipped: %s", error)
        return None
    if not ranges:
        swap.apply(args=(run.pk,))
    else:
        header = [block.si(run.pk, first, last) for first, last in ranges]
        chord(header)(swap.si(run.pk).on_error(failed.si(run.pk)))
    return int(run.pk)


# Scale-out of the similarity job (docs/scaling.md): block tasks on any number of workers, then
# one swap. A chord needs a result backend (CELERY_RESULT_BACKEND, Redis by default when set).
@shared_task(name="recommender.compute_similarity_distributed", acks_late=True,
             soft_time_limit=5 * 60, time_limit=6 * 60)  # fmt: skip
def compute_similarity_distributed(blocks: int = 8, now: str | None = None) -> int | None:
    """Start a similarity run as a chord of `blocks` tasks; returns the PipelineRun id."""
    return _chord(
        pipelines.similarity_distributed_begin,
        blocks,
        now,
        (similarity_block, similarity_swap, similarity_failed),
    )


@shared_task(name="recommender.similarity_block", acks_late=True,
             soft_time_limit=55 * 60, time_limit=HOUR)  # fmt: skip
def similarity_block(run_id: int, first_product: int, last_product: int) -> int:
    """Stage one product range's neighbours; returns the rows staged."""
    return pipelines.similarity_block_compute(
        run_id=run_id, first_product=first_product, last_product=last_product
    )


@shared_task(name="recommender.similarity_swap", acks_late=True,
             soft_time_limit=10 * 60, time_limit=11 * 60)  # fmt: skip
def similarity_swap(run_id: int) -> int:
    """Swap every staged block in at once; returns the PipelineRun id."""
    return int(pipelines.similarity_distributed_finish(run_id=run_id).pk)


@shared_task(name="recommender.similarity_failed")
def similarity_failed(run_id: int) -> None:
    """A block failed for good: fail the run and keep the previous neighbours."""
    pipelines.similarity_distributed_fail(run_id=run_id, error="A similarity block task failed.")


# Scale-out of the learned ranking (docs/scaling.md): the ranker is learnt once, then block
# tasks rank ranges of buyers on any number of workers, then one swap.
@shared_task(name="recommender.compute_ranking_distributed", acks_late=True,
             soft_time_limit=55 * 60, time_limit=HOUR)  # fmt: skip
def compute_ranking_distributed(blocks: int = 8, now: str | None = None) -> int | None:
    """Learn the ranker, then rank the buyers as a chord of `blocks` tasks; returns the
    PipelineRun id."""
    return _chord(
        pipelines.ranking_distributed_begin,
        blocks,
        now,
        (ranking_block, ranking_swap, ranking_failed),
    )


@shared_task(name="recommender.ranking_block", acks_late=True,
             soft_time_limit=55 * 60, time_limit=HOUR)  # fmt: skip
def ranking_block(run_id: int, first_visitor: int, last_visitor: int) -> int:
    """Rank and stage one range of buyers' learned lists; returns the rows staged."""
    return pipelines.ranking_block_compute(
        run_id=run_id, first_visitor=first_visitor, last_visitor=last_visitor
    )


@shared_task(name="recommender.ranking_swap", acks_late=True,
             soft_time_limit=10 * 60, time_limit=11 * 60)  # fmt: skip
def ranking_swap(run_id: int) -> int:
    """Swap every staged list in at once; returns the PipelineRun id."""
    return int(pipelines.ranking_distributed_finish(run_id=run_id).pk)


@shared_task(name="recommender.ranking_failed")
def ranking_failed(run_id: int) -> None:
    """A block failed for good: fail the run and keep the served lists."""
    pipelines.ranking_distributed_fail(run_id=run_id, error="A ranking block task failed.")
