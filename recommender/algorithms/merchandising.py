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

from dataclasses import dataclass, field, replace
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
    # The rules as arrays, when the caller keeps them across lists (with_fates() sets it).
    compiled: _Compiled | None = field(default=None, compare=False, repr=False)
    # Every product's fate under the rules, when the caller worked it out once for many
    # lists (with_fates()); else each list works out its catalog's.
    fates: Fates | None = field(default=None, compare=False, repr=False)

    @property
    def active(self) -> bool:
        return bool(self.rules) or self.preferred_boost != 0.0

    def compiled_rules(self) -> _Compiled:
        return self.compiled if self.compiled is not None else _Compiled.of(self.rules)

    def fates_table(self) -> Fates:
        if self.fates is None:
            raise ValueError("No fates were worked out: with_fates() first.")
        return self.fates

    def with_fates(self, catalog: Catalog) -> Merchandising:
        """The rules with every catalog product's fate worked out once (hidden, boost), so
        each list only looks its rows up: for a caller applying them to many lists."""
        compiled = self.compiled_rules()
        price = _prices_of(catalog.product, self.prices)
        return replace(
            self,
            compiled=compiled,
            fates=Fates(
                product=catalog.product,
                hidden=compiled.hide.strength(catalog.product, catalog.category, price) > 0,
                boost=compiled.boost.strength(catalog.product, catalog.category, price),
            ),
        )


@dataclass(frozen=True)
class Fates:
    """Products (ascending ids) with whether a rule hides each and their summed boost."""

    product: IntArray
    hidden: BoolArray
    boost: FloatArray

    def of(self, product: IntArray) -> tuple[BoolArray, FloatArray]:
        """The products' fates (a product the table does not hold: neither)."""
        position, known = positions(self.product, product)
        if len(self.product) == 0:
            return known, np.zeros(len(product))
        return known & self.hidden[position], np.where(known, self.boost[position], 0.0)


@dataclass(frozen=True)
class _Targets:
    """The union of some rules' targets, each with a strength (summed where they overlap)."""

    product: IntArray
    product_strength: FloatArray
    category: IntArray
    category_strength: FloatArray
    price_min: FloatArray
    price_max: FloatArray
    price_strength: FloatArray

    @classmethod
    def of(cls, rules: list[Rule], strength_of: float | None) -> _Targets:
        def summed(ids: list[int], strengths: list[float]) -> tuple[IntArray, FloatArray]:
            unique, inverse = np.unique(np.array(ids, dtype=np.int64), return_inverse=True)
            total = np.bincount(inverse, weights=np.array(strengths), minlength=len(unique))
            return unique, total.astype(np.float64)

        strength = [r.strength if strength_of is None else strength_of for r in rules]
        by_product = [(r.product, s) for r, s in zip(rules, strength, strict=True) if r.product]
        by_category = [
            (c, s)
            for r, s in zip(rules, strength, strict=True)
            if r.product is None
            for c in r.categories
        ]
        priced = [(r, s) for r, s in zip(rules, strength, strict=True) if r.priced]
        product, product_strength = summed([p for p, _ in by_product], [s for _, s in by_product])
        category, category_strength = summed(
            [c for c, _ in by_category], [s for _, s in by_category]
        )
        return cls(
            product=product,
            product_strength=product_strength,
            category=category,
            category_strength=category_strength,
            price_min=np.array(
                [-np.inf if r.price_min is None else r.price_min for r, _ in priced]
            ),
            price_max=np.array([np.inf if r.price_max is None else r.price_max for r, _ in priced]),
            price_strength=np.array([s for _, s in priced], dtype=np.float64),
        )

    def strength(self, product: IntArray, category: IntArray, price: FloatArray) -> FloatArray:
        """Each product's summed strength of the targets it falls in (NaN price: none)."""
        total = np.zeros(len(product), dtype=np.float64)
        if len(self.product):
            position, known = positions(self.product, product)
            total += np.where(known, self.product_strength[position], 0.0)
        if len(self.category):
            position, known = positions(self.category, category)
            total += np.where(known, self.category_strength[position], 0.0)
        if len(self.price_strength):
            inside = (price[:, None] >= self.price_min) & (price[:, None] <= self.price_max)
            total += inside @ self.price_strength
        return total


@dataclass(frozen=True)
class _Compiled:
    hide: _Targets
    boost: _Targets
    pins: tuple[Rule, ...]

    @classmethod
    def of(cls, rules: tuple[Rule, ...]) -> _Compiled:
        return cls(
            hide=_Targets.of([r for r in rules if r.kind == RuleKind.HIDE], 1.0),
            boost=_Targets.of([r for r in rules if r.kind == RuleKind.BOOST and r.strength], None),
            pins=tuple(r for r in rules if r.kind == RuleKind.PIN and r.product is not None),
        )


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
    categories and availability; `preferred` (group, category, weight) are
    the categories each group's visitor prefers, boosted by `merchandising.preferred_boost`."""
    compiled = merchandising.compiled_rules()
    # Each product's fate, worked out once for the catalog unless the caller already did.
    fates = merchandising.fates or merchandising.with_fates(catalog).fates_table()
    hidden, boost = fates.of(ranked.product)
    kept = np.flatnonzero(~hidden)
    group, product, boost = ranked.group[kept], ranked.product[kept], boost[kept]
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
    pins: list[Rule] = []
    if compiled.pins:
        pinned = np.array([rule.product for rule in compiled.pins], dtype=np.int64)
        shown = catalog.is_available(pinned) & ~fates.of(pinned)[0]
        pins = _pins_resolved([rule for rule, ok in zip(compiled.pins, shown, strict=True) if ok])
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
    starts = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
    lengths = np.diff(np.append(starts, len(group)))
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


def _prices_of(product: IntArray, prices: Prices) -> FloatArray:
    """Each product's price, NaN where unknown (no price range holds it)."""
    if len(prices.product) == 0:
        return np.full(len(product), np.nan)
    position, known = positions(prices.product, product)
    price: FloatArray = np.where(known, prices.price[position], np.nan)
    return price


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
    unpinned = ~positions(np.sort(pin_product), product)[1]
    kept, group, product = kept[unpinned], group[unpinned], product[unpinned]
    rank = rank_within(group)
    longest = int(rank.max()) + 1 if len(rank) else 0
    # The slots no pin takes, in order: the n-th unpinned row of a list takes the n-th.
    free_slot = np.ones(longest + len(pins), dtype=np.bool_)
    free_slot[pin_slot[pin_slot < len(free_slot)]] = False
    row_slot = np.flatnonzero(free_slot)[rank]
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
