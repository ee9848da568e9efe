"""Reads of the stored neighbour lists (item-to-item, content, bought together)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from catalog.querysets import browsable_q, is_browsable
from infrastructure import sql
from infrastructure.bulk import read_frame
from recommender.algorithms.events import IntArray, best_first, rank_within
from recommender.algorithms.item_similarity import Neighbours
from recommender.models import NEIGHBOUR_MODELS, ProductNeighbour, SimilarityKind


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
        best = best_of_each(mine, "product_id", "similar_product_id", per_product)
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
    query = f"SELECT {', '.join(columns)} FROM {sql.table(rows.model)}"  # noqa: S608
    frame = read_frame(query, {}, columns)
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


def neighbours_listing(kind: SimilarityKind, *, products: IntArray) -> IntArray:
    """The products whose stored lists of this kind name any of `products` (a scan: there is
    no index on the neighbour, which only this rare question would use)."""
    rows = NEIGHBOUR_MODELS[kind]._default_manager.filter(
        similar_product_id__any=np.unique(products).tolist()
    )
    listing = rows.values_list("product_id", flat=True).distinct()
    return np.array(sorted(listing), dtype=np.int64)


def best_of_each(rows: QuerySet[Any], group: str, tiebreak: str, limit: int) -> QuerySet[Any]:
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
            available=is_browsable(is_active=is_active, stock=stock),
        )
        for neighbour, name, score, co_occurrence, is_active, stock in rows
    ]


def neighbours_browsable(
    model: type[ProductNeighbour], product_id: int, k: int
) -> list[tuple[int, float, int]]:
    """(neighbour, score, co_occurrence) of the product's best k neighbours a shopper may be
    shown now."""
    return list(
        model._default_manager.filter(product_id=product_id)
        .filter(browsable_q("similar_product"))
        .order_by("-score", "similar_product_id")
        .values_list("similar_product_id", "score", "co_occurrence")[:k]
    )
