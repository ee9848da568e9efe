"""The merchandising rules that hold for one list, as the pure rules the algorithm applies.

Every rule is read once per merchandising generation (a rule or the settings changing bumps
it) and kept in the worker process; which of them hold for a list (its surface, its page, the
time) is decided per computation, from memory. A rule's start or end is a moment a cached
list stops being true: `ListRules.valid_until` says when, and serving recomputes after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.utils import timezone

from catalog.models import Category, Product
from catalog.selectors import category_subtrees, product_prices
from infrastructure import cache
from recommender.algorithms.merchandising import Merchandising, Prices, Rule, RuleKind
from recommender.models import MerchandisingRule, MerchandisingSettings, Surface
from recommender.models import RuleKind as StoredKind

KINDS = {
    StoredKind.PIN: RuleKind.PIN,
    StoredKind.BOOST: RuleKind.BOOST,
    StoredKind.BURY: RuleKind.BOOST,
    StoredKind.HIDE: RuleKind.HIDE,
}


@dataclass(frozen=True)
class StoredRule:
    """A rule as read, with its categories expanded, its schedule as timestamps."""

    pk: int
    rule: Rule
    surfaces: frozenset[str]
    on_categories: frozenset[int] | None
    on_product: int | None
    starts: float
    ends: float


@dataclass(frozen=True)
class ShopDefaults:
    preferred_boost: float = 0.0
    preferred_count: int = 2
    max_per_category: int | None = None


@dataclass(frozen=True)
class ListRules:
    """The rules holding for one list now, and until when that stays true."""

    merchandising: Merchandising
    rule_ids: tuple[int, ...]
    valid_until: float
    defaults: ShopDefaults

    @property
    def priced(self) -> bool:
        return any(rule.priced for rule in self.merchandising.rules)

    def with_prices(self, products: list[int]) -> Merchandising:
        """The rules with the prices their price ranges read for these products (a query only
        when a price range holds)."""
        if not self.priced:
            return self.merchandising
        prices = product_prices(among=products)
        ids = sorted(prices)
        return Merchandising(
            rules=self.merchandising.rules,
            prices=Prices(
                product=np.array(ids, dtype=np.int64),
                price=np.array([prices[i] for i in ids], dtype=np.float64),
            ),
            preferred_boost=self.merchandising.preferred_boost,
            preferred_count=self.merchandising.preferred_count,
        )


def list_rules(
    surface: Surface,
    *,
    category: Category | None = None,
    product: Product | None = None,
    at: datetime | None = None,
) -> ListRules:
    """The rules holding now (or `at`) for the surface's list in the context of a category's
    page or request, or a product's page (whose category is its context)."""
    now = (at or timezone.now()).timestamp()
    stored, defaults = _stored()
    context_category = (
        category.pk if category is not None else product.category_id if product else None
    )
    holding: list[StoredRule] = []
    valid_until = math.inf
    for entry in stored:
        if entry.surfaces and surface.value not in entry.surfaces:
            continue
        if entry.on_product is not None and (product is None or product.pk != entry.on_product):
            continue
        if entry.on_categories is not None and context_category not in entry.on_categories:
            continue
        # The next moment this rule starts or stops holding.
        for moment in (entry.starts, entry.ends):
            if moment > now:
                valid_until = min(valid_until, moment)
        if entry.starts <= now < entry.ends:
            holding.append(entry)
    personal = surface == Surface.RECOMMENDED
    return ListRules(
        merchandising=Merchandising(
            rules=tuple(entry.rule for entry in holding),
            preferred_boost=defaults.preferred_boost if personal else 0.0,
            preferred_count=defaults.preferred_count,
        ),
        rule_ids=tuple(entry.pk for entry in holding),
        valid_until=valid_until,
        defaults=defaults,
    )


def shop_defaults() -> ShopDefaults:
    return _stored()[1]


def _stored() -> tuple[list[StoredRule], ShopDefaults]:
    return cache.cached(
        cache.MERCHANDISING,
        "rules",
        timeout=settings.CACHE_TTL_SIMILAR,
        compute=_read,
        local=True,
    )


def _read() -> tuple[list[StoredRule], ShopDefaults]:
    rows = list(MerchandisingRule.objects.order_by("updated_at", "id"))
    subtrees = category_subtrees() if any(r.category_id or r.on_category_id for r in rows) else {}
    stored = []
    for rank, row in enumerate(rows):
        kind = StoredKind(row.kind)
        rule = Rule(
            kind=KINDS[kind],
            product=row.product_id,
            categories=tuple(sorted(subtrees.get(row.category_id, ()))) if row.category_id else (),
            price_min=float(row.price_min) if row.price_min is not None else None,
            price_max=float(row.price_max) if row.price_max is not None else None,
            strength=float(row.strength or 0.0),
            position=int(row.position or 0),
            # Newer (last changed later) rules rank higher: they win pin conflicts.
            rank=rank,
        )
        stored.append(
            StoredRule(
                pk=row.pk,
                rule=rule,
                surfaces=frozenset(row.surfaces or ()),
                on_categories=subtrees.get(row.on_category_id, frozenset([row.on_category_id]))
                if row.on_category_id
                else None,
                on_product=row.on_product_id,
                starts=row.starts_at.timestamp() if row.starts_at else -math.inf,
                ends=row.ends_at.timestamp() if row.ends_at else math.inf,
            )
        )
    shop = MerchandisingSettings.objects.filter(pk=1).first()
    defaults = (
        ShopDefaults(
            preferred_boost=shop.preferred_category_boost,
            preferred_count=shop.preferred_categories,
            max_per_category=shop.max_per_category,
        )
        if shop
        else ShopDefaults()
    )
    return stored, defaults
