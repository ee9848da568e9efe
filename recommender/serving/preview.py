"""What a list looks like with and without the merchandising rules, side by side, and which
rules lose their conflicts (the admin's preview). Computed now, never cached."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from catalog.models import Category, Product
from catalog.selectors import products_available_categories
from recommender.algorithms.merchandising import Merchandising, RuleKind, conflicts
from recommender.algorithms.tiered import Catalog
from recommender.configuration import RECOMMENDATION_TRENDING_WINDOW
from recommender.models import Surface
from recommender.selectors.merchandising import ListRules, list_rules
from recommender.serving import lists
from recommender.serving.contracts import Item, RecommendationRequest, RecommendationScenario

REASONS = {
    "hidden": "a hide rule (#{winner}) targets its product: hide beats pin",
    "position": "a newer pin (#{winner}) holds the same position",
    "product": "a newer pin (#{winner}) places the same product",
}


@dataclass(frozen=True)
class Preview:
    without: list[Item]
    with_rules: list[Item]
    # The rules holding for this list now, and why any of them does not take effect.
    rule_ids: tuple[int, ...]
    conflicts: dict[int, str]


def merchandising_preview(
    *,
    surface: Surface,
    visitor: str = "",
    product: Product | None = None,
    category: Category | None = None,
    k: int = 10,
) -> Preview:
    """The surface's list for the visitor (recommendations), the product (similar, bought
    together) or the category (trending, recommendations), with and without the rules."""
    rules = list_rules(surface, category=category, product=product)
    without = replace(
        rules,
        merchandising=Merchandising(),
        rule_ids=(),
        valid_until=math.inf,
    )
    return Preview(
        without=_items(surface, without, visitor, product, category, k),
        with_rules=_items(surface, rules, visitor, product, category, k),
        rule_ids=rules.rule_ids,
        conflicts=_conflicts(rules),
    )


def _items(
    surface: Surface,
    rules: ListRules,
    visitor: str,
    product: Product | None,
    category: Category | None,
    k: int,
) -> list[Item]:
    if surface in (Surface.RECOMMENDED, Surface.BUY_AGAIN):
        request = RecommendationRequest(
            visitor=visitor,
            k=k,
            category=category,
            scenario=RecommendationScenario.BUY_AGAIN
            if surface == Surface.BUY_AGAIN
            else RecommendationScenario.RECOMMENDED,
        )
        return lists.recommendations_compute(request, rules)["items"]
    if surface == Surface.TRENDING:
        return lists.trending_compute(RECOMMENDATION_TRENDING_WINDOW, category, k, rules)["items"]
    if product is None:
        return []
    if surface == Surface.SIMILAR:
        return lists.similar_compute(product, k, rules)["items"]
    return lists.bought_together_compute(product, k, rules)["items"]


def _conflicts(rules: ListRules) -> dict[int, str]:
    pinned = [
        rule.product
        for rule in rules.merchandising.rules
        if rule.kind == RuleKind.PIN and rule.product is not None
    ]
    categories = products_available_categories(among=pinned)
    known = np.array(sorted(categories), dtype=np.int64)
    catalog = Catalog(
        product=known,
        category=np.array([categories[p] for p in known.tolist()], dtype=np.int64),
        available=np.ones(len(known), dtype=np.bool_),
    )
    ids = rules.rule_ids
    return {
        ids[conflict.loser]: REASONS[conflict.reason].format(winner=ids[conflict.winner])
        for conflict in conflicts(rules.merchandising, catalog)
    }
