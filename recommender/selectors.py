"""Reads for the recommender: the arrays the pipelines feed to the algorithms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, RowNumber
from django.db.models.sql.compiler import SQLCompiler

from catalog.models import Product
from recommender.algorithms.content_similarity import ProductText
from recommender.algorithms.events import EventArrays, IntArray, best_first, rank_within
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.tiered import Catalog, Histories, Ranked
from recommender.models import (
    NEIGHBOUR_MODELS,
    EvaluationRun,
    LearnedRecommendation,
    SimilarityKind,
    TrendingScore,
)
from shopsmart.bulk import read_frame
from shopsmart.compiled import CompiledRead
from tracking.models import (
    EVENT_TYPE_CODES,
    EVENT_WEIGHTS,
    Event,
    EventType,
    visitor_id_subquery,
)


class EpochSeconds(Func):
    """A timestamp as Unix seconds (float), computed by the database rather than in Python."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()

    def as_sqlite(self, compiler: SQLCompiler, connection: Any, **extra: Any) -> Any:
        # Julian day 2440587.5 is 1970-01-01T00:00:00Z.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


def event_arrays(
    *, since: datetime, until: datetime, event_types: Sequence[EventType] | None = None
) -> EventArrays:
    """Events with since <= occurred_at < until (of the given types, else all), only the
    columns the algorithms need."""
    events = Event.objects.filter(occurred_at__gte=since, occurred_at__lt=until)
    if event_types is not None:
        events = events.filter(event_type__in=event_types)
    events = events.annotate(
        type_code=Case(
            *(When(event_type=kind, then=Value(code)) for kind, code in EVENT_TYPE_CODES.items()),
            output_field=IntegerField(),
        ),
        seconds=EpochSeconds(F("occurred_at")),
    )
    frame = read_frame(events, ["visitor_id", "product_id", "type_code", "seconds"])
    if frame.empty:
        return EventArrays.empty()
    return EventArrays(
        visitor=frame["visitor_id"].to_numpy(dtype=np.int64),
        product=frame["product_id"].to_numpy(dtype=np.int64),
        event_type=frame["type_code"].to_numpy(dtype=np.int8),
        timestamp=frame["seconds"].to_numpy(dtype=np.float64),
    )


def events_end() -> datetime | None:
    """Just after the last event: the end of a test period that takes every event."""
    last: datetime | None = Event.objects.aggregate(last=Max("occurred_at"))["last"]
    return None if last is None else last + timedelta(seconds=1)


def catalog_arrays() -> Catalog:
    """Every product's category and whether it may be recommended (active and in stock)."""
    annotated = Product.objects.annotate(
        available=Case(
            When(Q(is_active=True, stock__gt=0), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )
    frame = read_frame(annotated, ["id", "category_id", "available"]).sort_values("id")
    return Catalog(
        product=frame["id"].to_numpy(dtype=np.int64),
        category=frame["category_id"].to_numpy(dtype=np.int64),
        available=frame["available"].to_numpy() == 1,
    )


def product_texts() -> tuple[np.ndarray, list[ProductText]]:
    """Ascending product ids and what each product says about itself."""
    rows = Product.objects.order_by("id").values_list("id", "name", "description", "category__name")
    ids = []
    texts = []
    for product_id, name, description, category in rows.iterator(chunk_size=10_000):
        ids.append(product_id)
        texts.append(ProductText(name=name, description=description, category=category))
    return np.array(ids, dtype=np.int64), texts


def stored_neighbours(
    kind: SimilarityKind, *, per_product: int, products: IntArray | None = None
) -> Neighbours:
    """The stored neighbours of one kind (of the given products, else of all), best
    `per_product` of each, grouped by product."""
    rows = NEIGHBOUR_MODELS[kind]._default_manager.all()
    columns = ["product_id", "similar_product_id", "score", "co_occurrence"]
    if products is not None:
        # One visitor's history: the database ranks and cuts, and returns plain rows.
        mine = rows.filter(product_id__any=np.unique(products).tolist())
        best = _best_of_each(mine, "product_id", "similar_product_id", per_product)
        listed = list(best.order_by("product_id", "rank").values_list(*columns))
        if not listed:
            return Neighbours.concatenate([])
        by_column = list(zip(*listed, strict=True))
        return Neighbours(
            product=np.array(by_column[0], dtype=np.int64),
            neighbour=np.array(by_column[1], dtype=np.int64),
            score=np.array(by_column[2], dtype=np.float64),
            co_occurrence=np.array(by_column[3], dtype=np.int64),
        )
    frame = read_frame(rows, columns)
    if frame.empty:
        return Neighbours.concatenate([])
    product = frame["product_id"].to_numpy(dtype=np.int64)
    neighbour = frame["similar_product_id"].to_numpy(dtype=np.int64)
    score = frame["score"].to_numpy(dtype=np.float64)
    product_index = np.unique(product, return_inverse=True)[1]
    order = best_first(product_index, score, neighbour)
    order = order[rank_within(product_index[order]) < per_product]
    return Neighbours(
        product=product[order],
        neighbour=neighbour[order],
        score=score[order],
        co_occurrence=frame["co_occurrence"].to_numpy(dtype=np.int64)[order],
    )


@dataclass(frozen=True)
class VisitorHistory:
    """What one visitor did, as the recommendations of visitor index 0 read it."""

    # The last events, newest first, and the categories of their products.
    recent: Histories
    recent_categories: IntArray
    # The last purchases, newest first (for buy-again), and the category of each purchased
    # product a shopper may be shown now (active and in stock).
    purchases: EventArrays
    purchased_available: dict[int, int]
    # The visitor's stored learned list, best first, and each product's category.
    learned: Ranked
    learned_categories: IntArray


def _history_rows(
    visitor: str, length: int, purchase_length: int, learned_length: int
) -> list[QuerySet[Any]]:
    """The parts of the visitor's history, as (part, product, event type, time, category,
    available) rows: the last `length` events (part 0), the last `purchase_length` purchases
    (part 1) and the best `learned_length` products of the learned list (part 2: the score as
    the time, availability left to the served products' card check)."""
    columns = ("part", "product_id", "event_type", "timestamp", "category", "available")
    latest = Event.objects.latest_of(visitor).annotate(
        # Seconds, not datetimes: Django's timezone-aware datetime loader costs more per row
        # than the rest of the query.
        timestamp=Cast(EpochSeconds("occurred_at"), FloatField()),
        category=F("product__category_id"),
        available=ExpressionWrapper(
            Q(product__is_active=True, product__stock__gt=0), output_field=BooleanField()
        ),
    )
    recent = latest.annotate(part=Value(0)).values_list(*columns)[:length]
    purchases = (
        latest.filter(event_type=EventType.PURCHASE)
        .annotate(part=Value(1))
        .values_list(*columns)[:purchase_length]
    )
    learned = (
        LearnedRecommendation.objects.filter(visitor_id=visitor_id_subquery(visitor))
        .annotate(
            part=Value(2),
            event_type=Value("", output_field=CharField()),
            timestamp=F("score"),
            category=F("product__category_id"),
            available=Value(True, output_field=BooleanField()),
        )
        .order_by("-score", "product_id")
        .values_list(*columns)[:learned_length]
    )
    return [
        part
        for part, wanted in (
            (recent, length),
            (purchases, purchase_length),
            (learned, learned_length),
        )
        if wanted
    ]


def _history_union(
    visitor: str, length: int, purchase_length: int, learned_length: int
) -> QuerySet[Any]:
    first, *rest = _history_rows(visitor, length, purchase_length, learned_length)
    return first.union(*rest, all=True) if rest else first


_HISTORY_ROWS = CompiledRead(_history_union, params=("visitor",))


def visitor_history(
    *, visitor: str, length: int, purchase_length: int = 0, learned_length: int = 0
) -> VisitorHistory:
    """The visitor's last `length` events and, if asked, last purchases and learned list, in
    one query where the database can limit the parts of a UNION."""
    lengths = {
        "length": length,
        "purchase_length": purchase_length,
        "learned_length": learned_length,
    }
    if connection.features.supports_slicing_ordering_in_compound:
        rows = _HISTORY_ROWS.rows(visitor=visitor, **lengths)
    else:
        # SQLite cannot limit the parts of a UNION: a query per part.
        rows = []
        for name, value in lengths.items():
            if value:
                alone = dict.fromkeys(lengths, 0) | {name: value}
                rows += _HISTORY_ROWS.rows(visitor=visitor, **alone)
    recent = [row for row in rows if row[0] == 0]
    purchases = [row for row in rows if row[0] == 1]
    learned = sorted((row for row in rows if row[0] == 2), key=lambda row: (-row[3], row[1]))
    return VisitorHistory(
        recent=Histories(
            visitor=np.zeros(len(recent), dtype=np.int64),
            product=np.array([row[1] for row in recent], dtype=np.int64),
            # Event types come as strings, equal (and hashed alike) to EventType's members.
            weight=np.array([EVENT_WEIGHTS[row[2]] for row in recent], dtype=np.float64),
        ),
        recent_categories=np.array([row[4] for row in recent], dtype=np.int64),
        purchases=EventArrays(
            visitor=np.zeros(len(purchases), dtype=np.int64),
            product=np.array([row[1] for row in purchases], dtype=np.int64),
            event_type=np.full(len(purchases), EVENT_TYPE_CODES[EventType.PURCHASE], dtype=np.int8),
            timestamp=np.array([row[3] for row in purchases], dtype=np.float64),
        ),
        purchased_available={row[1]: row[4] for row in purchases if row[5]},
        learned=Ranked(
            group=np.zeros(len(learned), dtype=np.int64),
            product=np.array([row[1] for row in learned], dtype=np.int64),
            score=np.array([row[3] for row in learned], dtype=np.float64),
        ),
        learned_categories=np.array([row[4] for row in learned], dtype=np.int64),
    )


def trending_ranked(*, window: str, depth: int) -> Ranked:
    """The `depth` best available trending products of each category in the window, grouped
    by category id."""
    scores = TrendingScore.objects.filter(
        product__is_active=True, product__stock__gt=0, window=window, category__isnull=False
    )
    best = _best_of_each(scores, "category_id", "product_id", depth)
    listed = list(best.values_list("category_id", "product_id", "score"))
    if not listed:
        return Ranked.empty()
    group, product, score = zip(*listed, strict=True)
    return Ranked.of(
        np.array(product, dtype=np.int64),
        np.array(score, dtype=np.float64),
        group=np.array(group, dtype=np.int64),
    )


def _best_of_each(rows: QuerySet[Any], group: str, tiebreak: str, limit: int) -> QuerySet[Any]:
    """The `limit` best-scored rows of each group (ties: the lower `tiebreak` first), ranked
    by the database; each row carries its `rank` from 1."""
    ranked: QuerySet[Any] = rows.annotate(
        rank=Window(
            RowNumber(),
            partition_by=F(group),
            order_by=(F("score").desc(), F(tiebreak).asc()),
        )
    ).filter(rank__lte=limit)
    return ranked


@dataclass(frozen=True)
class NeighbourRow:
    product: int
    name: str
    score: float
    co_occurrence: int
    available: bool


def product_neighbours(*, product_id: int, kind: SimilarityKind, limit: int) -> list[NeighbourRow]:
    """A product's best `limit` stored neighbours of one kind, available or not."""
    rows = (
        NEIGHBOUR_MODELS[kind]
        ._default_manager.filter(product_id=product_id)
        .order_by("-score", "similar_product_id")
        .values_list(
            "similar_product_id",
            "similar_product__name",
            "score",
            "co_occurrence",
            "similar_product__is_active",
            "similar_product__stock",
        )[:limit]
    )
    return [
        NeighbourRow(
            product=neighbour,
            name=name,
            score=score,
            co_occurrence=co_occurrence,
            available=is_active and stock > 0,
        )
        for neighbour, name, score, co_occurrence, is_active, stock in rows
    ]


def evaluation_figures(evaluation: EvaluationRun) -> dict[str, Any]:
    """An evaluation run as plain data: {algorithm: {protocol: {"recall@20": 0.15, ...}}}."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for metric in evaluation.metrics.all():
        name = f"{metric.metric}@{metric.k}" if metric.k else metric.metric
        results.setdefault(metric.algorithm, {}).setdefault(metric.protocol, {})[name] = (
            metric.value
        )
    return {
        "evaluation_run": evaluation.pk,
        "created_at": evaluation.created_at.isoformat(),
        "parameters": evaluation.parameters,
        "visitors_evaluated": evaluation.visitors_evaluated,
        "results": results,
    }
