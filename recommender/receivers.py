"""How the recommender reacts to what the catalog and the tracking app tell it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from catalog.models import Product
from infrastructure import cache
from infrastructure.bulk import tables_emptied
from recommender import kept_history
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
from recommender.services import caches_flush, content_refresh_enqueue
from tracking.models import Event, Visitor
from tracking.signals import NO_EVENTS, StoredEvents

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


def visitors_invalidate(
    sender: type, *, visitors: Sequence[str], events: StoredEvents = NO_EVENTS, **kwargs: Any
) -> None:
    """These visitors' events changed (committed): their cached recommendations are stale,
    and their new events join their kept histories (the bump goes with the request's Redis
    writes, before its answer)."""
    kept_history.events_recorded(visitors, events)


def event_saved(sender: type, *, instance: Event, **kwargs: Any) -> None:
    """An event saved through the ORM (staff in the admin; the services insert theirs in bulk
    and say so): its visitor's lists and kept history are read again, now and once it commits
    (for what is read meanwhile)."""
    external_id = Visitor.objects.values_list("external_id", flat=True).get(pk=instance.visitor_id)
    cache.generation_bump(cache.RECOMMENDATIONS, external_id)
    transaction.on_commit(lambda: cache.generation_bump(cache.RECOMMENDATIONS, external_id))


def visitor_deleted(sender: type, *, instance: Visitor, **kwargs: Any) -> None:
    """A visitor and their events are gone: so are their lists and kept history."""
    external_id = instance.external_id
    transaction.on_commit(lambda: cache.generation_bump(cache.RECOMMENDATIONS, external_id))


def product_deleted(sender: type, **kwargs: Any) -> None:
    """A product's events went with it: every kept history is read again."""
    transaction.on_commit(kept_history.histories_forget)


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
    """An import changed products or events in bulk: every cached list and kept history may
    be stale."""
    caches_flush()


def computed_delete(sender: type, **kwargs: Any) -> None:
    """The store is being emptied: what was computed from it goes too."""
    tables_emptied(COMPUTED_MODELS)
    session_index_forget()
    # Now, and once the store is emptied, for what was kept meanwhile.
    kept_history.histories_forget()
    transaction.on_commit(kept_history.histories_forget)


def content_refresh_follow(sender: type, *, product_ids: Sequence[int], **kwargs: Any) -> None:
    """New or re-described products get their content neighbours now, not at night."""
    content_refresh_enqueue(product_ids=list(product_ids))
