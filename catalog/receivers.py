"""How the catalog keeps what others cached of it true."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from infrastructure import cache


def catalog_invalidate(sender: type, **kwargs: Any) -> None:
    """What a shelf or a search shows of a product (price, name, image, category, whether it
    can be bought) changed: every cached list, card and search answer is stale. Bumped now,
    for what this transaction reads next, and again once it commits, for what others cached
    from the old rows meanwhile."""
    cache.generation_bump(cache.CATALOG)
    transaction.on_commit(lambda: cache.generation_bump(cache.CATALOG))
