"""Merchandising: the shop's rules applied to ranked lists, after ranking, on every surface.

One function, `merchandise()`, takes lists already ranked best first (one per group: a
visitor, or the one list of a product's page) and applies the rules that hold for them:

1. **hide**: a product a hide rule targets never appears (hide beats pin beats boost).
2. **boost / bury**: each row's place in its list becomes a relevance u = 1 - rank / n (1 for
   the first of n rows, near 0 for the last). Every boost or bury rule targeting the row adds
   its strength (in [-1, 1]; positive boosts, negative buries; several add up), and so does
   the visitor's preferred-category boost, and the list is sorted again (ties keep the ranked
   order). A strength of 0.25 lifts a product past about a quarter of its list; 1 puts it
   above every row not boosted, -1 below every row not buried. It moves the products the list
   holds, never brings new ones.
3. **pin**: a product at a position (1 = first), shown whether the list held it or not, if it
   can be bought and nothing hides it. Two pins on one position: the newer wins and the other
   is not shown by its pin; a product pinned twice: its newer pin. A pin beyond the end of a
   short list lands at its end.

Targets: a product, a set of categories (a category with its sub-categories, expanded by the
caller), or a price range (inclusive). Which rules hold for a list (surface, schedule, the
page they are limited to) is decided by the caller; everything here is arrays in, arrays out,
so the evaluation measures exactly what is served.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from recommender.algorithms.arrays import NO_CATEGORY, BoolArray, Catalog, Histories, Ranked
from recommender.algorithms.events import (
    FloatArray,
    IntArray,
    grouped,
    pair_key,
    positions,
    rank_within,
)


class RuleKind(IntEnum):
    HIDE = 0
    PIN = 1
    # A bury is a boost with a negative strength.
    BOOST = 2


@dataclass(frozen=True)
class Rule:
    """One rule: its kind, its target (exactly one of product, categories or a price range)
    and its effect. `rank` orders rules by age: a higher rank is the newer rule."""

    kind: RuleKind
    product: int | None = None
    categories: tuple[int, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    strength: float = 0.0
    position: int = 0
    rank: int = 0

    @property
    def priced(self) -> bool:
        return self.price_min is not None or self.price_max is not None


@dataclass(frozen=True)
class Prices:
    """Products' prices (ascending ids), for price-range targets."""

    product: IntArray
    price: FloatArray

    @classmethod
    def empty(cls) -> Prices:
        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))


@dataclass(frozen=True)
class Merchandising:
    """The rules holding for a set of lists, the prices their price ranges read, and the
    personal boost of each visitor's preferred categories (0: off)."""

    rules: tuple[Rule, ...] = ()
    prices: Prices = field(default_factory=Prices.empty)
    preferred_boost: float = 0.0
    preferred_count: int = 2

    @property
    def active(self) -> bool:
        return bool(self.rules) or self.preferred_boost != 0.0


@dataclass(frozen=True)
class Merchandised:
    """The lists after the rules, sorted by group, then new rank. `source` is each row's index
    in the ranked input (-1: a pinned product the list did not hold); `featured` marks pins."""

    group: IntArray
    product: IntArray
    score: FloatArray
    source: IntArray
    featured: BoolArray


def merchandise(
    ranked: Ranked,
    *,
    groups: IntArray,
    catalog: Catalog,
    merchandising: Merchandising,
    preferred: Ranked | None = None,
) -> Merchandised:
    """The ranked lists (grouped, best first) with the rules applied, every row kept (the
    caller cuts each list to its length). `groups` are the groups that get a list (pins reach
    groups the ranked rows do not hold); `catalog` knows the rows' and the pinned products'
    categories and availability; `preferred` (group, category, weight) are the categories each
    group's visitor prefers, boosted by `merchandising.preferred_boost`."""
    hidden = _targeted(ranked.product, RuleKind.HIDE, catalog, merchandising)
    kept = np.flatnonzero(~hidden)
    group, product = ranked.group[kept], ranked.product[kept]
    boost = _boost(product, catalog, merchandising)
    if preferred is not None and merchandising.preferred_boost and len(preferred.group):
        liked = np.isin(
            pair_key(group, catalog.category_of(product) + 1),
            pair_key(preferred.group, preferred.product + 1),
        )
        boost = boost + merchandising.preferred_boost * liked
    if boost.any():
        # Relevance by place: 1 for each list's first row, falling to near 0 for its last.
        rank = rank_within(group)
        relevance = 1.0 - rank / _run_lengths(group)
        order = np.lexsort((rank, -(relevance + boost), group))
        kept = kept[order]
        group, product = group[order], product[order]
    pins = _pins_resolved(
        [
            rule
            for rule in merchandising.rules
            if rule.kind == RuleKind.PIN
            and rule.product is not None
            and catalog.is_available(np.array([rule.product], dtype=np.int64))[0]
            and not _targeted(
                np.array([rule.product], dtype=np.int64), RuleKind.HIDE, catalog, merchandising
            )[0]
        ]
    )
    if not pins:
        return Merchandised(
            group=group,
            product=product,
            score=ranked.score[kept],
            source=kept,
            featured=np.zeros(len(kept), dtype=np.bool_),
        )
    return _pinned(ranked, kept, group, product, groups, pins)


def preferred_categories(histories: Histories, catalog: Catalog, count: int) -> Ranked:
    """Each visitor's `count` categories carrying most of their recent events' weight
    (group: visitor index, product: category id, score: its weight), heaviest first."""
    category = catalog.category_of(histories.product)
    known = category != NO_CATEGORY
    if not known.any() or count <= 0:
        return Ranked.empty()
    visitor, category = histories.visitor[known], category[known]
    pairs = grouped(visitor, category)
    weight = pairs.sum(histories.weight[known])
    pair_visitor, pair_category = pairs.keys(visitor), pairs.keys(category)
    order = np.lexsort((pair_category, -weight, pair_visitor))
    top = order[rank_within(pair_visitor[order]) < count]
    return Ranked(group=pair_visitor[top], product=pair_category[top], score=weight[top])


def _pins_resolved(pins: list[Rule]) -> list[Rule]:
    """The pins that win their conflicts (see the module), by position."""
    chosen: dict[int, Rule] = {}
    taken: set[int | None] = set()
    for rule in sorted(pins, key=lambda r: -r.rank):
        if rule.position in chosen or rule.product in taken:
            continue  # a newer pin holds the position, or pins the product elsewhere
        chosen[rule.position] = rule
        taken.add(rule.product)
    return [chosen[position] for position in sorted(chosen)]


def _run_lengths(group: IntArray) -> FloatArray:
    """Each row's list length (rows grouped)."""
    if len(group) == 0:
        return np.empty(0, dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    lengths = np.diff(np.r_[starts, len(group)])
    return np.repeat(lengths, lengths).astype(np.float64)


def _matches(product: IntArray, rule: Rule, catalog: Catalog, prices: Prices) -> BoolArray:
    if rule.product is not None:
        matched: BoolArray = product == rule.product
        return matched
    if rule.categories:
        return np.isin(catalog.category_of(product), np.array(rule.categories, dtype=np.int64))
    if rule.priced:
        position, known = positions(prices.product, product)
        price = np.where(known, prices.price[position] if len(prices.price) else 0.0, np.nan)
        inside = known.copy()
        if rule.price_min is not None:
            inside &= price >= rule.price_min
        if rule.price_max is not None:
            inside &= price <= rule.price_max
        return inside
    return np.zeros(len(product), dtype=np.bool_)


def _targeted(
    product: IntArray, kind: RuleKind, catalog: Catalog, merchandising: Merchandising
) -> BoolArray:
    """The products any rule of the kind targets."""
    hit = np.zeros(len(product), dtype=np.bool_)
    for rule in merchandising.rules:
        if rule.kind == kind:
            hit |= _matches(product, rule, catalog, merchandising.prices)
    return hit


def _boost(product: IntArray, catalog: Catalog, merchandising: Merchandising) -> FloatArray:
    """Each row's summed boost and bury strengths."""
    boost = np.zeros(len(product), dtype=np.float64)
    for rule in merchandising.rules:
        if rule.kind == RuleKind.BOOST and rule.strength:
            boost += rule.strength * _matches(product, rule, catalog, merchandising.prices)
    return boost


def _pinned(
    ranked: Ranked,
    kept: IntArray,
    group: IntArray,
    product: IntArray,
    groups: IntArray,
    pins: list[Rule],
) -> Merchandised:
    """Every group's list with the pins in their positions and the other rows, in order, in
    the free ones."""
    pin_product = np.array([rule.product for rule in pins], dtype=np.int64)
    pin_slot = np.array([rule.position - 1 for rule in pins], dtype=np.int64)
    # The rows a pin moves leave their place.
    unpinned = ~np.isin(product, pin_product)
    kept, group, product = kept[unpinned], group[unpinned], product[unpinned]
    rank = rank_within(group)
    longest = int(rank.max()) + 1 if len(rank) else 0
    free = np.setdiff1d(np.arange(longest + len(pins)), pin_slot)
    row_slot = free[rank]
    # Each group gets every pin.
    pin_group = np.repeat(groups, len(pins))
    all_group = np.concatenate([group, pin_group])
    all_slot = np.concatenate([row_slot, np.tile(pin_slot, len(groups))])
    order = np.lexsort((all_slot, all_group))
    source = np.concatenate([kept, np.full(len(pin_group), -1, dtype=np.int64)])[order]
    score = np.zeros(len(source), dtype=np.float64)
    score[source >= 0] = ranked.score[source[source >= 0]]
    return Merchandised(
        group=all_group[order],
        product=np.concatenate([product, np.tile(pin_product, len(groups))])[order],
        score=score,
        source=source,
        featured=source < 0,
    )


@dataclass(frozen=True)
class Conflict:
    """A rule that does not take effect (`loser`, an index of Merchandising.rules) because
    another (`winner`) takes precedence: "hidden" (hide beats pin), "position" or "product"
    (a newer pin holds the position, or pins the same product)."""

    loser: int
    reason: str
    winner: int


def conflicts(merchandising: Merchandising, catalog: Catalog) -> list[Conflict]:
    """The pins that lose to a hide or to a newer pin, as merchandise() resolves them
    (`catalog` knows the pinned products' categories)."""
    rules = merchandising.rules
    found = []
    holders: dict[tuple[str, int], int] = {}
    for index in sorted(
        (i for i, r in enumerate(rules) if r.kind == RuleKind.PIN and r.product is not None),
        key=lambda i: -rules[i].rank,
    ):
        pin = rules[index]
        product = np.array([pin.product], dtype=np.int64)
        hiding = [
            i
            for i, rule in enumerate(rules)
            if rule.kind == RuleKind.HIDE
            and _matches(product, rule, catalog, merchandising.prices)[0]
        ]
        if hiding:
            found.append(Conflict(index, "hidden", hiding[0]))
            continue
        for key in (("position", pin.position), ("product", int(pin.product))):  # type: ignore[arg-type]
            if key in holders:
                found.append(Conflict(index, key[0], holders[key]))
                break
        else:
            holders[("position", pin.position)] = index
            holders[("product", int(pin.product))] = index  # type: ignore[arg-type]
    return found
