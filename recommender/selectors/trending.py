"""Reads of the stored trending scores."""

from __future__ import annotations

import numpy as np
from django.db.models import OuterRef, Subquery

from catalog.querysets import browsable_q
from recommender.algorithms.tiered import Ranked
from recommender.models import TrendingScore, TrendingWindow
from recommender.selectors.neighbours import best_of_each


def trending_ranked(*, window: str, depth: int) -> Ranked:
    """The `depth` best available trending products of each category in the window, grouped
    by category id."""
    scores = TrendingScore.objects.filter(
        browsable_q("product"), window=window, category__isnull=False
    )
    best = best_of_each(scores, "category_id", "product_id", depth)
    listed = list(best.values_list("category_id", "product_id", "score"))
    if not listed:
        return Ranked.empty()
    group, product, score = zip(*listed, strict=True)
    return Ranked.of(
        np.array(product, dtype=np.int64),
        np.array(score, dtype=np.float64),
        group=np.array(group, dtype=np.int64),
    )


def product_popularity() -> Subquery:
    """A product's 30-day trending score (recent interest, decayed), NULL if never seen: the
    catalog's sort by popularity (registered with catalog.popularity)."""
    scores = TrendingScore.objects.filter(product=OuterRef("pk"), window=TrendingWindow.DAYS_30)
    return Subquery(scores.values("score")[:1])


def trending_top(
    category_ids: list[int] | None,
    limit: int,
    *,
    window: str,
) -> list[tuple[int, float]]:
    """(product, score) of the `limit` best available trending products of the categories
    (None: the whole store), best first."""
    scores = TrendingScore.objects.filter(browsable_q("product"), window=window)
    if category_ids is not None:
        scores = scores.filter(category_id__in=category_ids)
    best = scores.order_by("-score", "product_id").values_list("product_id", "score")
    return list(best[:limit])
