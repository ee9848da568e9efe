"""The merchandising rules that hold for one list, as the pure rules the algorithm applies.

Every rule is read once per merchandising generation (a rule or the settings changing bumps
it) and kept in the worker process; which of them hold for a list (its surface, its page, the
time) is worked out from memory, and remembered until a rule's schedule changes it. A rule's
start or end is a moment a cached list stops being true: `ListRules.valid_until` says when,
and serving recomputes after it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

import numpy as np
from django.conf import settings
from django.utils import timezone

from catalog.models import Category, Product
from catalog.selectors import category_subtrees, product_table
from infrastructure import cache
from recommender.algorithms.arrays import Catalog
from recommender.algorithms.merchandising import Merchandising, Prices, Rule, RuleKind
from recommender.models import MerchandisingRule, MerchandisingSettings, Surface
from recommender.models import RuleKind as StoredKind

T = TypeVar("T")

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
    stored = _stored()
    context = (
        surface.value,
        category.pk if category is not None else product.category_id if product else None,
        product.pk if product is not None else None,
    )
    remembered = stored.answers.get(context)
    if remembered is not None and remembered[0] <= now < remembered[1].valid_until:
        return remembered[1]
    valid_from, answer = _list_rules(stored, context, now)
    if len(stored.answers) >= REMEMBERED_LISTS:
        stored.answers.clear()
    stored.answers[context] = (valid_from, answer)
    return answer


# How many lists' rules a worker remembers per rule set (a dict lookup instead of a pass over
# every rule); beyond it they are forgotten and worked out again.
REMEMBERED_LISTS = 10_000


@dataclass
class StoredRules:
    """Every rule as read and the shop's defaults, kept in the worker process for one
    merchandising generation; `answers` remembers the rules of each list (with the moment
    they started holding as they do) and `compiled` each set of holding rules as arrays."""

    entries: list[StoredRule]
    defaults: ShopDefaults
    answers: dict[tuple[str, int | None, int | None], tuple[float, ListRules]] = field(
        default_factory=dict
    )
    compiled: dict[tuple[int, ...], Merchandising] = field(default_factory=dict)


def _list_rules(
    stored: StoredRules, context: tuple[str, int | None, int | None], now: float
) -> tuple[float, ListRules]:
    surface, context_category, product = context
    holding: list[StoredRule] = []
    valid_from, valid_until = -math.inf, math.inf
    for entry in stored.entries:
        if entry.surfaces and surface not in entry.surfaces:
            continue
        if entry.on_product is not None and product != entry.on_product:
            continue
        if entry.on_categories is not None and context_category not in entry.on_categories:
            continue
        # The moments around now when this rule starts or stops holding.
        for moment in (entry.starts, entry.ends):
            if moment > now:
                valid_until = min(valid_until, moment)
            else:
                valid_from = max(valid_from, moment)
        if entry.starts <= now < entry.ends:
            holding.append(entry)
    ids = tuple(entry.pk for entry in holding)
    defaults = stored.defaults
    personal = surface == Surface.RECOMMENDED
    key = (*ids, -1 if personal else -2)
    merchandising = stored.compiled.get(key)
    if merchandising is None:
        merchandising = Merchandising(
            rules=tuple(entry.rule for entry in holding),
            preferred_boost=defaults.preferred_boost if personal else 0.0,
            preferred_count=defaults.preferred_count,
        )
        if holding:
            # Every product's fate once per rule set: each list then only looks its rows up.
            table = _product_table()
            merchandising = replace(merchandising, prices=table.prices).with_fates(table.catalog)
        stored.compiled[key] = merchandising
    answer = ListRules(
        merchandising=merchandising,
        rule_ids=ids,
        valid_until=valid_until,
        defaults=defaults,
    )
    return valid_from, answer


def _stored() -> StoredRules:
    return _kept("rules", _read)


def _kept(name: str, compute: Callable[[], T]) -> T:
    """Read once per merchandising and catalog generation, then kept in the worker."""
    return cache.cached(
        cache.MERCHANDISING, name, timeout=settings.CACHE_TTL_SIMILAR, compute=compute, local=True
    )


@dataclass(frozen=True)
class ProductTable:
    catalog: Catalog
    prices: Prices


def _product_table() -> ProductTable:
    """Every product's category and price, kept in the worker process until a product
    changes (the catalog generation)."""
    return _kept("products", _read_products)


def _read_products() -> ProductTable:
    ids, categories, prices = product_table()
    product = np.array(ids, dtype=np.int64)
    return ProductTable(
        catalog=Catalog(
            product=product,
            category=np.array(categories, dtype=np.int64),
            available=np.ones(len(product), dtype=np.bool_),
        ),
        prices=Prices(product=product, price=np.array(prices, dtype=np.float64)),
    )


def _read() -> StoredRules:
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
    # The deployment's cap (RECOMMENDER_MAX_PER_CATEGORY) until staff set one.
    cap = shop.max_per_category if shop and shop.max_per_category else None
    defaults = ShopDefaults(
        preferred_boost=shop.preferred_category_boost if shop else 0.0,
        preferred_count=shop.preferred_categories if shop else 2,
        max_per_category=cap or settings.RECOMMENDER_MAX_PER_CATEGORY,
    )
    return StoredRules(entries=stored, defaults=defaults)
