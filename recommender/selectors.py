"""Reads for the recommender: the arrays the pipelines feed to the algorithms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Case, F, FloatField, Func, IntegerField, Q, Value, When
from django.db.models.sql.compiler import SQLCompiler

from catalog.models import Product
from recommender.algorithms.content_similarity import ProductText
from recommender.algorithms.events import EventArrays, IntArray, best_first, rank_within
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.tiered import Catalog
from recommender.models import NEIGHBOUR_MODELS, EvaluationRun, SimilarityKind
from shopsmart.bulk import read_frame
from tracking.models import EVENT_TYPE_CODES, Event


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


def event_arrays(*, since: datetime, until: datetime) -> EventArrays:
    """Events with since <= occurred_at < until, only the columns the algorithms need."""
    events = Event.objects.filter(occurred_at__gte=since, occurred_at__lt=until).annotate(
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


def catalog_arrays(*, products: IntArray | None = None) -> Catalog:
    """Each product's (of the given ones, else of all) category and whether it may be
    recommended (active and in stock)."""
    rows = (
        Product.objects.all()
        if products is None
        else Product.objects.filter(pk__in=np.unique(products).tolist())
    )
    annotated = rows.annotate(
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
    if products is not None:
        rows = rows.filter(product_id__in=products.tolist())
    frame = read_frame(rows, ["product_id", "similar_product_id", "score", "co_occurrence"])
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
