"""The recommendation pipelines: read events, run the pure algorithms, swap the results in.

Each run is recorded as a PipelineRun. Claiming a run inserts a row that the database allows only
once per pipeline while queued or running (a partial unique constraint), so two runs of one
pipeline never overlap, on one machine or many. Results are replaced in a single transaction:
readers see the old table until the new one is complete, and a failed run leaves the previous
results served.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.models import Product
from infrastructure.bulk import insert_frame, insert_frames, read_frame, table_rebuilt
from recommender import cache
from recommender.algorithms import bought_together
from recommender.algorithms.behavioural import (
    SimilarityMethod,
    behavioural_blocks,
    resolved_method,
)
from recommender.algorithms.content_similarity import (
    content_block_size,
    iter_content_blocks,
    tfidf_matrix,
)
from recommender.algorithms.evaluation import (
    DEFAULT_KS,
    EvaluationConfig,
    EvaluationResult,
    Recommender,
    evaluate,
)
from recommender.algorithms.events import PURCHASE, EventArrays
from recommender.algorithms.item_similarity import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_MIN_COMMON_VISITORS,
    DEFAULT_TOP_K,
    InteractionMatrix,
    Neighbours,
    interaction_matrix,
    iter_neighbour_blocks,
)
from recommender.algorithms.ranker import (
    RankerConfig,
    ranked_lists,
    ranker_fit,
    training_cutoffs,
)
from recommender.algorithms.tiered import NEIGHBOURS_PER_EVENT, Ranked
from recommender.algorithms.trending import WINDOWS, trending_scores
from recommender.models import (
    ACTIVE_PIPELINE_STATUSES,
    NEIGHBOUR_MODELS,
    EvaluationMetric,
    EvaluationRun,
    ItemSimilarity,
    LearnedRecommendation,
    PipelineKind,
    PipelineRun,
    PipelineStatus,
    SimilarityKind,
    SimilarityStagingRow,
    TrendingScore,
)
from recommender.selectors import catalog_arrays, event_arrays, product_texts, stored_neighbours
from recommender.serving import LEARNED_LENGTH, served_recommender
from tracking.models import EventType

SIMILARITY_HISTORY_DAYS = 90
CONTENT_TOP_K = 20
EVALUATION_TEST_DAYS = 7
# Purchases are a few percent of events, so baskets are learned from a longer history.
BOUGHT_TOGETHER_HISTORY_DAYS = 365
# The ranker learns from weekly cut-offs over months of history, and reads product popularity
# "ever": a year and a month of events.
RANKING_HISTORY_DAYS = 400
# (done, total) after each unit of work, for progress bars.
ProgressCallback = Callable[[int, int], None]


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
def _recorded_run(
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


def trending_compute(*, now: datetime | None = None, queued_run: int | None = None) -> PipelineRun:
    """Recompute the 7-day and 30-day trending scores of every product with recent events."""
    now = now or timezone.now()
    longest = max(window.days for window in WINDOWS)
    with _recorded_run(PipelineKind.TRENDING, {"now": now.isoformat()}, queued_run) as recorder:
        with recorder.phase("read"):
            events = event_arrays(since=now - timedelta(days=longest), until=now)
        with recorder.phase("compute"):
            frames = []
            for window in WINDOWS:
                result = trending_scores(events, now=now.timestamp(), window=window)
                frames.append(
                    pd.DataFrame(
                        {
                            "product_id": result.product,
                            "window": window.name,
                            "score": result.score,
                            "event_count": result.event_count,
                        }
                    )
                )
            rows = pd.concat(frames, ignore_index=True)
            categories = _category_of(rows["product_id"].to_numpy())
            rows["category_id"] = categories
            rows["computed_at"] = pd.Timestamp(now)
        with recorder.phase("write"), table_rebuilt(TrendingScore) as table:
            insert_frame(table, rows)
            transaction.on_commit(lambda: cache.generation_bump(cache.TRENDING))
        recorder.statistics |= {
            "events_read": len(events),
            "rows_written": len(rows),
            "products_by_window": {w.name: int((rows["window"] == w.name).sum()) for w in WINDOWS},
        }
    return recorder.run


def similarity_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    days: int = SIMILARITY_HISTORY_DAYS,
    top_k: int = DEFAULT_TOP_K,
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS,
    block_size: int = DEFAULT_BLOCK_SIZE,
    progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Recompute every product's behavioural (item-to-item) neighbours from recent events."""
    now = now or timezone.now()
    parameters = _similarity_parameters(now, days, top_k, min_common_visitors)
    parameters["block_size"] = block_size
    with _recorded_run(PipelineKind.SIMILARITY, parameters, queued_run) as recorder:
        with recorder.phase("read"):
            events, interactions = _similarity_window(now, days)
        method = resolved_method(
            SimilarityMethod(settings.RECOMMENDER_SIMILARITY_METHOD),
            len(interactions.product_ids),
        )
        counted = _CountedBlocks(len(interactions.product_ids), block_size, progress)
        blocks = behavioural_blocks(
            interactions,
            method=method,
            top_k=top_k,
            min_common_visitors=min_common_visitors,
            l2=settings.RECOMMENDER_EASE_L2,
            block_size=block_size,
        )
        # Computing and writing overlap: the database inserts one block while the next is
        # computed. Readers keep seeing the old neighbours until the transaction commits.
        with recorder.phase("compute_and_write"):
            written = similarity_replace(
                blocks=counted(blocks), kind=SimilarityKind.BEHAVIOURAL, computed_at=now
            )
        recorder.statistics |= {
            "method": method.value,
            "events_read": len(events),
            "visitors": len(interactions.visitor_ids),
            "products_with_events": len(interactions.product_ids),
            "products_with_neighbours": counted.products_with_neighbours,
            "rows_written": written,
        }
    return recorder.run


def _similarity_parameters(
    now: datetime, days: int, top_k: int, min_common_visitors: int
) -> dict[str, Any]:
    return {
        "now": now.isoformat(),
        "days": days,
        "top_k": top_k,
        "min_common_visitors": min_common_visitors,
        "similarity": settings.RECOMMENDER_SIMILARITY_METHOD,
        "l2": settings.RECOMMENDER_EASE_L2,
    }


def _similarity_window(now: datetime, days: int) -> tuple[EventArrays, InteractionMatrix]:
    """The events a similarity run learns from, and their visitors x products matrix."""
    events = event_arrays(since=now - timedelta(days=days), until=now)
    return events, interaction_matrix(events)


# Scale-out: the same similarity job as Celery tasks on many workers. One task claims the run and
# splits the products into id ranges; a chord of block tasks (any worker, any machine) computes
# each range's neighbours into a staging table; the chord's body swaps them all in at once.


def similarity_distributed_begin(
    *,
    blocks: int,
    now: datetime | None = None,
    days: int = SIMILARITY_HISTORY_DAYS,
    top_k: int = DEFAULT_TOP_K,
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS,
) -> tuple[PipelineRun, list[tuple[int, int]]]:
    """Claim a similarity run and split the catalog into `blocks` product id ranges."""
    now = now or timezone.now()
    parameters = _similarity_parameters(now, days, top_k, min_common_visitors)
    parameters["distributed_blocks"] = blocks
    run = pipeline_run_claim(kind=PipelineKind.SIMILARITY, parameters=parameters, held=False)
    product_ids = np.fromiter(Product.objects.order_by("id").values_list("id", flat=True), np.int64)
    ranges = [
        (int(part[0]), int(part[-1])) for part in np.array_split(product_ids, blocks) if len(part)
    ]
    run.statistics = {"ranges": ranges}
    run.save(update_fields=["statistics"])
    return run, ranges


def similarity_block_compute(*, run_id: int, first_product: int, last_product: int) -> int:
    """Stage the neighbours of products first_product..last_product for a distributed run.

    Safe to run twice (a retried or redelivered task): it replaces its own range's rows. Every
    block task reads the same events (the run's fixed time window) and builds the same matrix.
    """
    run = PipelineRun.objects.get(pk=run_id)
    if run.status != PipelineStatus.RUNNING:
        return 0  # failed or abandoned meanwhile: nothing will read the staged rows
    parameters = run.parameters
    _, interactions = _similarity_window(
        datetime.fromisoformat(parameters["now"]), parameters["days"]
    )
    ids = interactions.product_ids
    columns = np.flatnonzero((ids >= first_product) & (ids <= last_product))
    blocks = iter_neighbour_blocks(
        interactions,
        top_k=parameters["top_k"],
        min_common_visitors=parameters["min_common_visitors"],
        columns=columns,
    )
    frames = (
        pd.DataFrame(
            {
                "run_id": run_id,
                "product_id": block.product,
                "similar_product_id": block.neighbour,
                "score": block.score,
                "co_occurrence": block.co_occurrence,
            }
        )
        for block in blocks
    )
    with transaction.atomic():
        SimilarityStagingRow.objects.filter(
            run_id=run_id, product_id__gte=first_product, product_id__lte=last_product
        ).delete()
        return insert_frames(SimilarityStagingRow, frames)


def similarity_distributed_finish(*, run_id: int) -> PipelineRun:
    """Swap every staged block of the run into ItemSimilarity in one transaction."""
    staging = SimilarityStagingRow._meta.db_table
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=run_id)
        if run.status != PipelineStatus.RUNNING:
            return run  # finished already (a redelivered body) or failed
        started = time.perf_counter()
        with table_rebuilt(ItemSimilarity) as target, connection.cursor() as cursor:
            cursor.execute(
                # Only table names from the models are formatted in; values are bound.
                f'INSERT INTO "{target}" (product_id, similar_product_id, score, '  # noqa: S608
                f"co_occurrence, computed_at) SELECT product_id, similar_product_id, score, "
                f"co_occurrence, %s FROM {staging} WHERE run_id = %s",
                [run.parameters["now"], run_id],
            )
            written = cursor.rowcount
        SimilarityStagingRow.objects.filter(run_id=run_id).delete()
        run.status = PipelineStatus.SUCCEEDED
        run.finished_at = timezone.now()
        run.statistics |= {
            "rows_written": written,
            "products_with_neighbours": ItemSimilarity.objects.values("product_id")
            .distinct()
            .count(),
            "seconds": {"swap": round(time.perf_counter() - started, 3)},
        }
        run.save(update_fields=["status", "finished_at", "statistics"])
        transaction.on_commit(lambda: cache.generation_bump(cache.SIMILARITY))
    return run


def similarity_distributed_fail(*, run_id: int, error: str) -> None:
    """A block failed: the run fails, its staged rows go, the previous neighbours stay served."""
    with transaction.atomic():
        PipelineRun.objects.filter(pk=run_id, status=PipelineStatus.RUNNING).update(
            status=PipelineStatus.FAILED, finished_at=timezone.now(), error=error[-10_000:]
        )
        SimilarityStagingRow.objects.filter(run_id=run_id).delete()


@dataclass
class _CountedBlocks:
    """Passes neighbour blocks through, counting products and reporting progress."""

    total: int
    block_size: int
    progress: ProgressCallback | None
    products_with_neighbours: int = 0

    def __call__(self, blocks: Iterable[Neighbours]) -> Iterator[Neighbours]:
        done = 0
        for block in blocks:
            # Blocks cover disjoint product ranges, so their counts add up.
            self.products_with_neighbours += len(np.unique(block.product))
            done = min(done + self.block_size, self.total)
            if self.progress:
                self.progress(done, self.total)
            yield block


def similarity_replace(
    *, blocks: Iterable[Neighbours], kind: SimilarityKind, computed_at: datetime
) -> int:
    """Swap in one kind of neighbours in one transaction; readers never see a partial table."""
    stamp = pd.Timestamp(computed_at)

    def frames() -> Iterator[pd.DataFrame]:
        for block in blocks:
            yield pd.DataFrame(
                {
                    "product_id": block.product,
                    "similar_product_id": block.neighbour,
                    "score": block.score,
                    "co_occurrence": block.co_occurrence,
                    "computed_at": stamp,
                }
            )

    with table_rebuilt(NEIGHBOUR_MODELS[kind]) as table:
        written = insert_frames(table, frames())
        transaction.on_commit(lambda: cache.generation_bump(cache.SIMILARITY))
    return written


def content_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    top_k: int = CONTENT_TOP_K,
    progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Recompute every product's content (TF-IDF) neighbours from the catalog's texts."""
    now = now or timezone.now()
    with _recorded_run(
        PipelineKind.CONTENT, {"now": now.isoformat(), "top_k": top_k}, queued_run
    ) as recorder:
        with recorder.phase("read"):
            product_ids, texts = product_texts()
        with recorder.phase("vectorise"):
            matrix = tfidf_matrix(texts)
        counted = _CountedBlocks(len(product_ids), content_block_size(len(product_ids)), progress)
        with recorder.phase("compute_and_write"):
            written = similarity_replace(
                blocks=counted(iter_content_blocks(matrix, product_ids, top_k=top_k)),
                kind=SimilarityKind.CONTENT,
                computed_at=now,
            )
        recorder.statistics |= {
            "products": len(product_ids),
            "terms": int(matrix.shape[1]),
            "products_with_neighbours": counted.products_with_neighbours,
            "rows_written": written,
        }
    return recorder.run


def bought_together_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    days: int = BOUGHT_TOGETHER_HISTORY_DAYS,
    top_k: int = bought_together.DEFAULT_TOP_K,
    min_baskets: int = bought_together.DEFAULT_MIN_BASKETS,
    progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Recompute every product's "frequently bought together" products from recent purchases."""
    now = now or timezone.now()
    parameters = {"now": now.isoformat(), "days": days, "top_k": top_k, "min_baskets": min_baskets}
    with _recorded_run(PipelineKind.BOUGHT_TOGETHER, parameters, queued_run) as recorder:
        with recorder.phase("read"):
            purchases = event_arrays(
                since=now - timedelta(days=days), until=now, event_types=[EventType.PURCHASE]
            )
            baskets = bought_together.basket_matrix(purchases)
        counted = _CountedBlocks(len(baskets.product_ids), DEFAULT_BLOCK_SIZE, progress)
        blocks = iter_neighbour_blocks(baskets, top_k=top_k, min_common_visitors=min_baskets)
        with recorder.phase("compute_and_write"):
            written = similarity_replace(
                blocks=counted(blocks), kind=SimilarityKind.BOUGHT_TOGETHER, computed_at=now
            )
        recorder.statistics |= {
            "purchases_read": len(purchases),
            "baskets": len(baskets.visitor_ids),
            "products_bought": len(baskets.product_ids),
            "products_with_neighbours": counted.products_with_neighbours,
            "rows_written": written,
        }
    return recorder.run


def ranking_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    progress: ProgressCallback | None = None,
) -> PipelineRun:
    """Learn the ranker from the store's past and store each returning buyer's best new
    products (recommender.algorithms.ranker); no list at all while the store has too little
    history to learn from."""
    now = now or timezone.now()
    config = RankerConfig()
    with _recorded_run(PipelineKind.RANKING, {"now": now.isoformat()}, queued_run) as recorder:
        with recorder.phase("read"):
            events = event_arrays(since=now - timedelta(days=RANKING_HISTORY_DAYS), until=now)
            catalog = catalog_arrays()
            content = stored_neighbours(SimilarityKind.CONTENT, per_product=CONTENT_TOP_K)
        # Learning reads one set of features per training cut-off, ranking one per chunk of
        # buyers: both count towards the progress bar.
        cutoffs = len(training_cutoffs(events, now=now.timestamp(), config=config))
        with recorder.phase("learn"):
            ranker = ranker_fit(
                events,
                catalog,
                content,
                now=now.timestamp(),
                config=config,
                progress=_offset(progress, 0, cutoffs + 1),
            )
        buyers = np.unique(events.visitor[events.event_type == PURCHASE])
        with recorder.phase("rank"):
            ranked = (
                ranked_lists(
                    ranker,
                    events,
                    catalog,
                    content,
                    now=now.timestamp(),
                    visitor_ids=buyers,
                    k=LEARNED_LENGTH,
                )
                if ranker is not None
                else Ranked.empty()
            )
        if progress:
            progress(cutoffs + 1, cutoffs + 1)
        rows = pd.DataFrame(
            {
                "visitor_id": buyers[ranked.group],
                "product_id": ranked.product,
                "score": ranked.score,
                "computed_at": pd.Timestamp(now),
            }
        )
        with recorder.phase("write"), table_rebuilt(LearnedRecommendation) as table:
            insert_frame(table, rows)
            transaction.on_commit(lambda: cache.generation_bump(cache.SIMILARITY))
        recorder.statistics |= {
            "events_read": len(events),
            "learnt": ranker is not None,
            "cutoffs": ranker.cutoffs if ranker else 0,
            "training_rows": ranker.rows if ranker else 0,
            "training_positives": ranker.positives if ranker else 0,
            "buyers": len(buyers),
            "visitors_with_a_list": len(np.unique(ranked.group)),
            "rows_written": len(rows),
        }
    return recorder.run


def _offset(progress: ProgressCallback | None, before: int, total: int) -> ProgressCallback | None:
    """A progress callback for one part of a longer job: `before` units already done."""
    if progress is None:
        return None
    return lambda done, _: progress(before + done, total)


def evaluation_contenders() -> tuple[Recommender, ...]:
    """The served recommender, the blends it could serve instead, and the baselines."""
    served = served_recommender()
    blends = sorted({0.0, 0.2, 0.5} - {served.content_weight})
    return (
        served,
        *(Recommender(f"tiered_content_{weight:g}", content_weight=weight) for weight in blends),
        Recommender(
            "tiered_buy_again",
            content_weight=served.content_weight,
            include_interacted=True,
            repeat_weight=settings.RECOMMENDER_REPEAT_WEIGHT,
        ),
        Recommender(
            "item_knn",
            content=False,
            category_fill=False,
            global_fill=False,
            similarity=SimilarityMethod.COSINE,
        ),
        Recommender("content", behavioural=False, category_fill=False, global_fill=False),
        Recommender("popularity", behavioural=False, content=False, category_fill=False),
    )


def evaluation_compute(
    *,
    now: datetime | None = None,
    queued_run: int | None = None,
    test_days: float = EVALUATION_TEST_DAYS,
    ks: tuple[int, ...] = DEFAULT_KS,
    progress: ProgressCallback | None = None,
) -> EvaluationRun:
    """Evaluate every contender on a temporal split ending now and store the figures."""
    now = now or timezone.now()
    config = EvaluationConfig(
        test_days=test_days,
        ks=ks,
        similarity_days=SIMILARITY_HISTORY_DAYS,
        max_per_category=settings.RECOMMENDER_MAX_PER_CATEGORY,
        recommenders=evaluation_contenders(),
        similarity=SimilarityMethod(settings.RECOMMENDER_SIMILARITY_METHOD),
        l2=settings.RECOMMENDER_EASE_L2,
        half_life_days=settings.RECOMMENDER_REPEAT_HALF_LIFE_DAYS,
    )
    parameters = {
        "now": now.isoformat(),
        "test_days": test_days,
        "ks": list(ks),
        "similarity_days": SIMILARITY_HISTORY_DAYS,
        "served_content_weight": settings.RECOMMENDER_CONTENT_WEIGHT,
        "similarity": settings.RECOMMENDER_SIMILARITY_METHOD,
        "l2": settings.RECOMMENDER_EASE_L2,
        "repeat_weight": settings.RECOMMENDER_REPEAT_WEIGHT,
        "repeat_half_life_days": settings.RECOMMENDER_REPEAT_HALF_LIFE_DAYS,
        "max_per_category": settings.RECOMMENDER_MAX_PER_CATEGORY,
        "max_visitors": config.max_visitors,
        "recommenders": [contender.name for contender in config.recommenders],
    }
    with _recorded_run(PipelineKind.EVALUATION, parameters, queued_run) as recorder:
        with recorder.phase("read"):
            events = event_arrays(
                since=now - timedelta(days=SIMILARITY_HISTORY_DAYS + test_days), until=now
            )
            catalog = catalog_arrays()
            content = stored_neighbours(SimilarityKind.CONTENT, per_product=NEIGHBOURS_PER_EVENT)
        with recorder.phase("evaluate"):
            result = evaluate(
                events,
                catalog=catalog,
                content=content,
                now=now.timestamp(),
                config=config,
                progress=progress,
            )
        with recorder.phase("write"):
            evaluation = _evaluation_store(recorder.run, parameters, result)
        recorder.statistics |= {"events_read": len(events), **_evaluated(evaluation, result)}
    return evaluation


def evaluation_record(*, parameters: dict[str, Any], result: EvaluationResult) -> EvaluationRun:
    """Store an evaluation computed elsewhere (the real-data benchmark) as an evaluation run,
    so the dashboard and the admin show it beside the weekly ones."""
    with _recorded_run(PipelineKind.EVALUATION, parameters, None) as recorder:
        evaluation = _evaluation_store(recorder.run, parameters, result)
        recorder.statistics |= _evaluated(evaluation, result)
    return evaluation


def _evaluated(evaluation: EvaluationRun, result: EvaluationResult) -> dict[str, int]:
    """An evaluation's figures for its pipeline run's statistics."""
    return {
        "train_events": result.train_events,
        "test_events": result.test_events,
        "visitors_eligible": result.eligible_visitors,
        "visitors_evaluated": evaluation.visitors_evaluated,
        "evaluation_run": evaluation.pk,
    }


@transaction.atomic
def _evaluation_store(
    run: PipelineRun, parameters: dict[str, Any], result: EvaluationResult
) -> EvaluationRun:
    split_at = datetime.fromtimestamp(result.split_at, tz=UTC)
    evaluation = EvaluationRun.objects.create(
        pipeline_run=run,
        parameters=parameters | {"split_at": split_at.isoformat()},
        visitors_evaluated=max(
            (
                metrics.visitors
                for protocols in result.results.values()
                for metrics in protocols.values()
            ),
            default=0,
        ),
    )
    rows = []
    for algorithm, protocols in result.results.items():
        for protocol, metrics in protocols.items():
            figures = {
                **metrics.figures,
                ("coverage", 0): metrics.coverage,
                ("visitors", 0): float(metrics.visitors),
            }
            rows += [
                EvaluationMetric(
                    run=evaluation,
                    algorithm=algorithm,
                    protocol=protocol,
                    metric=metric,
                    k=k,
                    value=value,
                )
                for (metric, k), value in figures.items()
            ]
    EvaluationMetric.objects.bulk_create(rows)
    return evaluation


def _category_of(product_ids: np.ndarray) -> np.ndarray:
    """Each product's category id, read in one go (a product always has a category)."""
    categories = read_frame(Product.objects.all(), ["id", "category_id"]).set_index("id")
    return categories["category_id"].reindex(product_ids).to_numpy(dtype=np.int64)
