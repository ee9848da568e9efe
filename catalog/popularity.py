"""How popular a product is, as the app that measures it says.

Popularity comes from shoppers' behaviour, which apps above the catalog measure (the
recommender's 30-day trending scores). The catalog may not import them, so the measuring app
registers a source in its AppConfig.ready(), in the way Wagtail's hooks let a higher app plug
into a lower one; sorting by popularity reads it. With no source registered, every product is
equally popular.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Expression, Subquery, Value

# Builds, for a product QuerySet's outer row (OuterRef("pk")), its popularity score or NULL.
PopularitySource = Callable[[], Subquery | Expression]

_source: PopularitySource | None = None


def popularity_source_register(source: PopularitySource) -> None:
    global _source
    _source = source


def popularity_score() -> Subquery | Expression:
    """A product's popularity as an annotation (NULL for products never seen)."""
    return _source() if _source is not None else Value(None)
