"""How the recommender reacts to what the catalog and the tracking app tell it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from catalog.models import Product
from infrastructure import cache
from infrastructure.bulk import tables_emptied
from recommender.models import (
    BoughtTogether,
    ContentSimilarity,
    EvaluationMetric,
    EvaluationRun,
    ItemSimilarity,
    LearnedRecommendation,
    LiveRankerSnapshot,
    PipelineRun,
    SessionIndexSnapshot,
    SimilarityStagingRow,
    TrendingScore,
)
from recommender.selectors import session_index_forget
from recommender.services import content_refresh_enqueue

# What the recommender computed from the store, children before parents.
COMPUTED_MODELS = (
    EvaluationMetric,
    EvaluationRun,
    SimilarityStagingRow,
    PipelineRun,
    SessionIndexSnapshot,
    LiveRankerSnapshot,
    ItemSimilarity,
    ContentSimilarity,
    BoughtTogether,
    LearnedRecommendation,
    TrendingScore,
)


def visitors_invalidate(sender: type, *, visitors: Sequence[str], **kwargs: Any) -> None:
    """New events of these visitors: their cached recommendations are stale (the events are
    committed: the bump goes with the request's Redis writes, before its answer)."""
    cache.generation_bump_many(cache.RECOMMENDATIONS, visitors, with_writes=True)


def experiments_invalidate(sender: type, **kwargs: Any) -> None:
    """An experiment, its variants or its lists changed: assignment reads them again (now,
    and once the change commits, for what others read meanwhile)."""
    cache.generation_bump(cache.EXPERIMENTS)
    transaction.on_commit(lambda: cache.generation_bump(cache.EXPERIMENTS))


def merchandising_invalidate(sender: type, **kwargs: Any) -> None:
    """A rule or the shop's merchandising settings changed: every list they steer is
    recomputed on its next request. Bumped now and again on commit (see catalog_invalidate)."""
    cache.generation_bump(cache.MERCHANDISING)
    transaction.on_commit(lambda: cache.generation_bump(cache.MERCHANDISING))


def trending_category_follow(sender: type, *, instance: Product, **kwargs: Any) -> None:
    """A product moved to another category: its trending scores move with it, so "trending in
    category" (which reads the category copied onto the scores) lists it under the new one."""
    TrendingScore.objects.filter(product=instance).exclude(category=instance.category_id).update(
        category=instance.category_id
    )


def everything_invalidate(sender: type, **kwargs: Any) -> None:
    """An import changed products or events in bulk: every cached list may be stale."""
    cache.flush()


def computed_delete(sender: type, **kwargs: Any) -> None:
    """The store is being emptied: what was computed from it goes too."""
    tables_emptied(COMPUTED_MODELS)
    session_index_forget()


def content_refresh_follow(sender: type, *, product_ids: Sequence[int], **kwargs: Any) -> None:
    """New or re-described products get their content neighbours now, not at night."""
    content_refresh_enqueue(product_ids=list(product_ids))
