"""The served recommender: personalised, then category trending, then global trending.

One vectorised function recommends for any number of visitors at once: the API and the pages
call it with one visitor, the evaluation with thousands, so what is evaluated is what is served.

1. Personalised: each of the visitor's last 50 events brings its product's top 20 neighbours;
   a candidate scores the sum of similarity x event weight (view 1, add to cart 3, purchase 5).
   Products the visitor already interacted with are left out unless `include_interacted`.
   With a requested category (`Rules.personalised_categories`: it and its sub-categories),
   only that category's products.
2. When that yields fewer than k/2 products, the list is filled from the trending products of
   the requested category (or, if none was asked for, the category the visitor cares most about),
3. then from global trending.
Every tier keeps only available products (active, in stock) and the optional `max_per_category`
cap applies to the whole list. A short personalised list is not thrown away for trending
products: the products found are kept first, as they are the most relevant ones the visitor has.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from recommender.algorithms.arrays import HISTORY_LENGTH as HISTORY_LENGTH
from recommender.algorithms.arrays import NEIGHBOURS_PER_EVENT as NEIGHBOURS_PER_EVENT
from recommender.algorithms.arrays import NO_CATEGORY as NO_CATEGORY
from recommender.algorithms.arrays import Catalog as Catalog
from recommender.algorithms.arrays import Histories as Histories
from recommender.algorithms.arrays import Live as Live
from recommender.algorithms.arrays import Ranked as Ranked
from recommender.algorithms.arrays import Recommendations as Recommendations
from recommender.algorithms.arrays import Rules as Rules
from recommender.algorithms.arrays import Tier as Tier
from recommender.algorithms.events import (
    FloatArray,
    IntArray,
    distinct,
    distinct_first,
    grouped,
    members,
    pair_key,
    positions,
    rank_within,
    run_starts,
    slices,
)
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.merchandising import (
    Merchandising,
    merchandise,
    preferred_categories,
)

# Products of a personalised item's reason ("Because you viewed A and B").
REASON_PRODUCTS = 2


def recommend(
    *,
    histories: Histories,
    visitor_count: int,
    neighbours: Neighbours,
    catalog: Catalog,
    category_trending: Ranked,
    global_trending: Ranked,
    rules: Rules,
    requested_category: IntArray | None = None,
    repeats: Ranked | None = None,
    learned: Ranked | None = None,
    live: Live | None = None,
    merchandising: Merchandising | None = None,
) -> Recommendations:
    """Top `rules.k` products for each of visitor_count visitors (see the module docstring).

    `neighbours` must be sorted by product, best first within each product (as the similarity
    pipelines produce and store them). `requested_category` holds one category id per visitor,
    NO_CATEGORY to use the visitor's own. `repeats` (grouped by visitor index, as
    buy_again.repeat_scores gives them) join the personalised tier when interacted products
    are allowed and `rules.repeat_weight` is positive. `learned` (grouped by visitor index, as
    ranker.ranked_lists gives them) are the personalised tier of the visitors who have them,
    in place of their neighbours' products, when interacted products are left out (the list
    the ranker learnt to rank). `live` candidates join the personalised tier with
    `rules.live_weight`, and its basket products are never suggested. `merchandising`'s rules
    are applied to each ranked list before it is cut to k (pinned products get Tier.FEATURED).
    """
    k = rules.k
    if not (rules.include_interacted and rules.repeat_weight > 0):
        repeats = None
    if rules.include_interacted:
        learned = None
    if live is not None and rules.live_weight <= 0 and rules.live_weight_nightly <= 0:
        live = replace(live, candidates=Ranked.empty(), anchor=live.anchor[:0])
    personalised, contributions = _personalised(
        histories, neighbours, catalog, rules, repeats, learned, live
    )
    if rules.personalised_categories is not None:
        personalised = _taken(
            personalised,
            members(catalog.category_of(personalised.product), rules.personalised_categories),
        )
    # What is taken out of, or rearranged in, the joined tiers (None: nothing).
    basket = live if live is not None and len(live.basket_product) else None
    rules_applied = merchandising if merchandising is not None and merchandising.active else None
    personalised = _select(personalised, catalog, rules.max_per_category, k)
    if basket is not None:
        personalised = _without_basket(personalised, basket)
    if rules_applied is None and _full(personalised, visitor_count, k):
        # Every visitor's personalised tier fills the list on its own: the trending tiers
        # come after it, so they could not make the list (a visitor's usual cache miss).
        chosen = personalised
    else:
        target = _target_categories(histories, visitor_count, catalog, requested_category)
        # Enough fill for the list even when the cap or the personalised items take some away.
        fill_length = 3 * k + 20
        candidates = _concatenate(
            [
                personalised,
                _fill(category_trending, target, catalog, Tier.CATEGORY_TRENDING, fill_length),
                _fill(
                    global_trending,
                    np.zeros(visitor_count, dtype=np.int64),
                    catalog,
                    Tier.GLOBAL_TRENDING,
                    fill_length,
                ),
            ]
        )
        if basket is not None:
            candidates = _without_basket(candidates, basket)
        if rules_applied is not None:
            ordered = _select(candidates, catalog, rules.max_per_category, None)
            chosen = _merchandised(
                ordered, histories, visitor_count, catalog, rules_applied, live, k
            )
        else:
            chosen = _select(candidates, catalog, rules.max_per_category, k)
    if rules.explain:
        chosen = _explained(chosen, contributions)
    return Recommendations(
        visitor=chosen.visitor,
        product=chosen.product,
        score=chosen.score,
        tier=chosen.tier,
        category=catalog.category_of(chosen.product),
        because=chosen.because,
        strategy=_strategies(chosen, visitor_count, k),
    )


@dataclass(frozen=True)
class _Contributions:
    """What each (visitor, history product) brought to each personalised candidate."""

    visitor: IntArray
    candidate: IntArray
    source: IntArray
    contribution: FloatArray

    @classmethod
    def empty(cls) -> _Contributions:
        empty = np.empty(0, dtype=np.int64)
        return cls(empty, empty.copy(), empty.copy(), np.empty(0, dtype=np.float64))


@dataclass(frozen=True)
class _Candidates:
    visitor: IntArray
    product: IntArray
    score: FloatArray
    tier: npt.NDArray[np.int8]
    because: IntArray


def _personalised(
    histories: Histories,
    neighbours: Neighbours,
    catalog: Catalog,
    rules: Rules,
    repeats: Ranked | None,
    learned: Ranked | None,
    live: Live | None,
) -> tuple[_Candidates, _Contributions]:
    if len(catalog.product) == 0 or (
        (len(histories.product) == 0 or len(neighbours) == 0)
        and (repeats is None or len(repeats.product) == 0)
        and (learned is None or len(learned.product) == 0)
        and (live is None or len(live.candidates.product) == 0)
    ):
        return _no_candidates(), _Contributions.empty()
    row, entry, position, contribution = neighbour_contributions(
        histories, neighbours, catalog, rules.neighbours_per_event
    )
    # Summed per (visitor, candidate) pair; pairs come sorted by visitor, then candidate.
    catalog_size = len(catalog.product)
    pairs, pair_of_row = distinct(histories.visitor[row] * catalog_size + position)
    summed = np.bincount(pair_of_row, weights=contribution, minlength=len(pairs)).astype(
        np.float64, copy=False
    )
    if repeats is not None:
        pairs, summed = _with_repeats(pairs, summed, repeats, catalog, rules.repeat_weight)
    if learned is not None:
        pairs, summed = _with_learned(pairs, summed, learned, catalog)
    contributions = _Contributions(
        visitor=histories.visitor[row],
        candidate=neighbours.neighbour[entry],
        source=histories.product[row],
        contribution=contribution,
    )
    if live is not None and len(live.candidates.product):
        # Against a visitor's learned list or buy-again repeats, the live part has its own
        # weight: those lists are stronger than the neighbours of a history.
        nightly = np.concatenate(
            [np.empty(0, dtype=np.int64)] + [r.group for r in (learned, repeats) if r is not None]
        )
        weight = np.where(
            members(live.candidates.group, nightly), rules.live_weight_nightly, rules.live_weight
        )
        pairs, summed, contributions = _with_live(
            pairs, summed, contributions, live, catalog, weight
        )
    if not rules.include_interacted:
        history_position = np.minimum(
            np.searchsorted(catalog.product, histories.product), catalog_size - 1
        )
        seen = catalog.product[history_position] == histories.product
        interacted = histories.visitor[seen] * catalog_size + history_position[seen]
        fresh = ~members(pairs, interacted)
        pairs, summed = pairs[fresh], summed[fresh]
    visitor = pairs // catalog_size
    product = catalog.product[pairs % catalog_size]
    score = summed
    if rules.max_per_category is None:
        # Only the best k of each visitor can make the list: cut before the full sort.
        visitor, product, score = _top_of_each(visitor, product, score, rules.k)
    candidates = _Candidates(
        visitor=visitor,
        product=product,
        score=score,
        tier=np.full(len(visitor), int(Tier.PERSONALISED), dtype=np.int8),
        # Explained once chosen (see _explained): most candidates never make the list.
        because=np.full((len(visitor), REASON_PRODUCTS), -1, dtype=np.int64),
    )
    return candidates, contributions


def _with_repeats(
    pairs: IntArray, summed: FloatArray, repeats: Ranked, catalog: Catalog, weight: float
) -> tuple[IntArray, FloatArray]:
    """(visitor, catalog position) pairs scored by their neighbour score plus weight x their
    repeat score, each scaled to the visitor's best = 1; sorted by visitor, then position."""
    catalog_size = len(catalog.product)
    position, known = positions(catalog.product, repeats.product)
    known &= catalog.available[position]
    repeat_pairs = repeats.group[known] * catalog_size + position[known]
    merged, pair_of_row = distinct(np.concatenate([pairs, repeat_pairs]))
    scores = np.concatenate(
        [
            scaled_to_best(pairs // catalog_size, summed),
            weight * scaled_to_best(repeats.group[known], repeats.score[known]),
        ]
    )
    total = np.bincount(pair_of_row, weights=scores, minlength=len(merged)).astype(np.float64)
    return merged, total


def neighbour_contributions(
    histories: Histories, neighbours: Neighbours, catalog: Catalog, per_event: int
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """What each history row brings: for each of its product's first `per_event` neighbours
    that the catalog holds and has available, the history row, the neighbour-table entry, the
    neighbour's catalog position and its contribution (similarity x event weight)."""
    # Each history row's slice of the neighbour table.
    starts = np.searchsorted(neighbours.product, histories.product, side="left")
    stops = np.searchsorted(neighbours.product, histories.product, side="right")
    row, entry = slices(starts, np.minimum(stops - starts, per_event))
    # Candidates as catalog positions, looked up once per neighbour-table entry used.
    position, known = positions(catalog.product, neighbours.neighbour[entry])
    known &= catalog.available[position]
    row, entry, position = row[known], entry[known], position[known]
    return row, entry, position, neighbours.score[entry] * histories.weight[row]


def _with_live(
    pairs: IntArray,
    summed: FloatArray,
    contributions: _Contributions,
    live: Live,
    catalog: Catalog,
    weight: FloatArray,
) -> tuple[IntArray, FloatArray, _Contributions]:
    """The (visitor, catalog position) pairs scored by their personalised score plus weight x
    their live score (a weight per live row), each scaled to the visitor's best = 1, sorted by
    visitor, then position;
    each live candidate's anchor joins the contributions, so reasons can name it."""
    catalog_size = len(catalog.product)
    candidates = live.candidates
    position, known = positions(catalog.product, candidates.product)
    known &= catalog.available[position]
    live_pairs = candidates.group[known] * catalog_size + position[known]
    merged, pair_of_row = distinct(np.concatenate([pairs, live_pairs]))
    live_score = weight[known] * scaled_to_best(candidates.group[known], candidates.score[known])
    scores = np.concatenate([scaled_to_best(pairs // catalog_size, summed), live_score])
    total = np.bincount(pair_of_row, weights=scores, minlength=len(merged)).astype(np.float64)
    anchored = live.anchor[known] >= 0
    # On the history contributions' scale (their largest: lists are explained one visitor
    # at a time), so a live anchor comes first when the live score brought more of the item.
    scale = np.ones(len(anchored))
    if len(contributions.contribution):
        scale *= float(contributions.contribution.max())
    contributions = _Contributions(
        visitor=np.concatenate([contributions.visitor, candidates.group[known][anchored]]),
        candidate=np.concatenate([contributions.candidate, candidates.product[known][anchored]]),
        source=np.concatenate([contributions.source, live.anchor[known][anchored]]),
        contribution=np.concatenate([contributions.contribution, (live_score * scale)[anchored]]),
    )
    return merged, total, contributions


def _with_learned(
    pairs: IntArray, summed: FloatArray, learned: Ranked, catalog: Catalog
) -> tuple[IntArray, FloatArray]:
    """The (visitor, catalog position) pairs with each learned visitor's neighbour pairs
    replaced by its learned products and their scores; sorted by visitor, then position."""
    catalog_size = len(catalog.product)
    position, known = positions(catalog.product, learned.product)
    known &= catalog.available[position]
    learned_pairs = learned.group[known] * catalog_size + position[known]
    neighbours_only = ~members(pairs // catalog_size, learned.group[known])
    merged = np.concatenate([pairs[neighbours_only], learned_pairs])
    scores = np.concatenate([summed[neighbours_only], learned.score[known]])
    order = np.argsort(merged, kind="stable")
    return merged[order], scores[order]


def scaled_to_best(visitor: IntArray, score: FloatArray) -> FloatArray:
    """Each (positive) score divided by the best score of its visitor."""
    if len(visitor) == 0:
        return score
    best = np.zeros(int(visitor.max()) + 1)
    np.maximum.at(best, visitor, score)
    scaled: FloatArray = score / best[visitor]
    return scaled


def _top_of_each(
    visitor: IntArray, product: IntArray, score: FloatArray, k: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """The k best-scored rows of each visitor (rows grouped by visitor, products ascending)."""
    if len(visitor) == 0:
        return visitor, product, score
    # One float key: the visitor, then its score scaled below 1 (best first); a stable sort
    # keeps ties in product id order.
    starts = run_starts(visitor)
    run = np.cumsum(starts) - 1
    visitor_max = np.maximum.reduceat(score, np.flatnonzero(starts))[run]
    order = np.argsort(visitor + 0.999 * (1.0 - score / visitor_max), kind="stable")
    order = order[rank_within(visitor[order]) < k]
    order.sort()
    return visitor[order], product[order], score[order]


def _explained(chosen: _Candidates, contributions: _Contributions) -> _Candidates:
    """The chosen candidates with the reasons of their personalised ones."""
    personalised = chosen.tier == int(Tier.PERSONALISED)
    if not personalised.any():
        return chosen
    because = chosen.because.copy()
    because[personalised] = _reasons(
        chosen.visitor[personalised], chosen.product[personalised], contributions
    )
    return _Candidates(chosen.visitor, chosen.product, chosen.score, chosen.tier, because)


def _reasons(visitor: IntArray, product: IntArray, contributions: _Contributions) -> IntArray:
    """For each (visitor, product) candidate, the two history products that brought the most."""
    candidate_key = pair_key(visitor, product)
    candidate_order = np.argsort(candidate_key)
    # Each contribution's candidate as its place among the sorted candidates (kept: those
    # contributing to one of them).
    slot, kept = positions(
        candidate_key[candidate_order], pair_key(contributions.visitor, contributions.candidate)
    )
    # Summed per (candidate, history product), in one sortable key: places and ids < 2**31.
    groups, group_of_row = distinct(pair_key(slot[kept], contributions.source[kept]))
    total = np.bincount(
        group_of_row, weights=contributions.contribution[kept], minlength=len(groups)
    ).astype(np.float64, copy=False)
    slot, source = groups >> 32, groups & 0xFFFFFFFF
    order = np.lexsort((source, -total, slot))
    slot, source = slot[order], source[order]
    rank = rank_within(slot)
    because = np.full((len(visitor), REASON_PRODUCTS), -1, dtype=np.int64)
    top = rank < REASON_PRODUCTS
    because[candidate_order[slot[top]], rank[top]] = source[top]
    return because


def _target_categories(
    histories: Histories,
    visitor_count: int,
    catalog: Catalog,
    requested: IntArray | None,
) -> IntArray:
    """The requested category, else the category carrying most of the visitor's history."""
    own = np.full(visitor_count, NO_CATEGORY, dtype=np.int64)
    category = catalog.category_of(histories.product)
    known = category != NO_CATEGORY
    if known.any():
        visitor, category = histories.visitor[known], category[known]
        pairs = grouped(visitor, category)
        weight = pairs.sum(histories.weight[known])
        pair_visitor, pair_category = pairs.keys(visitor), pairs.keys(category)
        # Per visitor, the heaviest category (ties: the lower id); the first row of each wins.
        order = np.lexsort((pair_category, -weight, pair_visitor))
        first = rank_within(pair_visitor[order]) == 0
        own[pair_visitor[order][first]] = pair_category[order][first]
    if requested is None:
        return own
    return np.where(requested != NO_CATEGORY, requested, own)


def _fill(
    ranked: Ranked, groups: IntArray, catalog: Catalog, tier: Tier, length: int
) -> _Candidates:
    """For each visitor, the first `length` available products of its group's ranking."""
    available = catalog.is_available(ranked.product)
    group, product, score = (
        ranked.group[available],
        ranked.product[available],
        ranked.score[available],
    )
    starts = np.searchsorted(group, groups, side="left")
    stops = np.searchsorted(group, groups, side="right")
    lengths = np.minimum(stops - starts, length)
    lengths[groups == NO_CATEGORY] = 0
    visitor, entry = slices(starts, lengths)
    return _Candidates(
        visitor=visitor,
        product=product[entry],
        score=score[entry],
        tier=np.full(len(entry), int(tier), dtype=np.int8),
        because=np.full((len(entry), REASON_PRODUCTS), -1, dtype=np.int64),
    )


def _full(candidates: _Candidates, visitor_count: int, k: int) -> bool:
    """Whether every visitor has k candidates."""
    return bool(np.bincount(candidates.visitor, minlength=visitor_count).min(initial=k) >= k)


def _without_basket(candidates: _Candidates, live: Live) -> _Candidates:
    """The candidates but the products in their visitor's basket (never suggested)."""
    return _taken(
        candidates,
        ~members(
            pair_key(candidates.visitor, candidates.product),
            pair_key(live.basket_visitor, live.basket_product),
        ),
    )


def _taken(candidates: _Candidates, rows: npt.NDArray[np.bool_] | IntArray) -> _Candidates:
    """The candidates' rows picked by a mask or by positions."""
    return _Candidates(
        visitor=candidates.visitor[rows],
        product=candidates.product[rows],
        score=candidates.score[rows],
        tier=candidates.tier[rows],
        because=candidates.because[rows],
    )


def _merchandised(
    ordered: _Candidates,
    histories: Histories,
    visitor_count: int,
    catalog: Catalog,
    merchandising: Merchandising,
    live: Live | None,
    k: int,
) -> _Candidates:
    """The ordered candidates with the merchandising rules applied, basket products left
    out (pinned or not), the top k of each visitor."""
    done = merchandise(
        Ranked(group=ordered.visitor, product=ordered.product, score=ordered.score),
        groups=np.arange(visitor_count, dtype=np.int64),
        catalog=catalog,
        merchandising=merchandising,
        preferred=(
            preferred_categories(histories, catalog, merchandising.preferred_count)
            if merchandising.preferred_boost
            else None
        ),
    )
    keep = np.ones(len(done.product), dtype=np.bool_)
    if live is not None and len(live.basket_product):
        keep = ~members(
            pair_key(done.group, done.product), pair_key(live.basket_visitor, live.basket_product)
        )
    rows = np.flatnonzero(keep)
    rows = rows[rank_within(done.group[rows]) < k]
    source = done.source[rows]
    organic = source >= 0
    tier = np.full(len(rows), int(Tier.FEATURED), dtype=np.int8)
    tier[organic] = ordered.tier[source[organic]]
    because = np.full((len(rows), REASON_PRODUCTS), -1, dtype=np.int64)
    because[organic] = ordered.because[source[organic]]
    return _Candidates(
        visitor=done.group[rows],
        product=done.product[rows],
        score=done.score[rows],
        tier=tier,
        because=because,
    )


def _select(
    candidates: _Candidates, catalog: Catalog, max_per_category: int | None, k: int | None
) -> _Candidates:
    """Per visitor in tier then score order: each product once, the category cap, the top k
    (None: every row, in order)."""
    order = np.lexsort((candidates.product, -candidates.score, candidates.tier, candidates.visitor))
    visitor, product = candidates.visitor[order], candidates.product[order]
    # The first (best) occurrence of each product in each visitor's list, in this order.
    keep = np.zeros(len(order), dtype=np.bool_)
    keep[distinct_first(pair_key(visitor, product))[1]] = True
    if max_per_category is not None:
        category = catalog.category_of(product)
        # Rank within (visitor, category) among the products still kept, in list order.
        kept = np.flatnonzero(keep)
        # A stable sort keeps list order within each (visitor, category).
        key = pair_key(visitor[kept], category[kept])
        by_category = np.argsort(key, kind="stable")
        rank = rank_within(key[by_category])
        keep[kept[by_category[rank >= max_per_category]]] = False
    kept = np.flatnonzero(keep)
    if k is not None:
        kept = kept[rank_within(visitor[kept]) < k]
    return _taken(candidates, order[kept])


def _strategies(chosen: _Candidates, visitor_count: int, k: int) -> npt.NDArray[np.int8]:
    tiers = len(Tier)
    counts = np.bincount(
        chosen.visitor * tiers + chosen.tier, minlength=visitor_count * tiers
    ).reshape(visitor_count, tiers)
    personalised = counts[:, int(Tier.PERSONALISED)]
    in_category = counts[:, int(Tier.CATEGORY_TRENDING)]
    fallbacks = in_category + counts[:, int(Tier.GLOBAL_TRENDING)]
    fallback = np.where(in_category > 0, int(Tier.CATEGORY_TRENDING), int(Tier.GLOBAL_TRENDING))
    strategy = np.where(
        (2 * personalised >= k) | (fallbacks == 0), int(Tier.PERSONALISED), fallback
    ).astype(np.int8)
    strategy[counts.sum(axis=1) == 0] = -1
    return strategy


def _concatenate(parts: list[_Candidates]) -> _Candidates:
    return _Candidates(
        visitor=np.concatenate([p.visitor for p in parts]),
        product=np.concatenate([p.product for p in parts]),
        score=np.concatenate([p.score for p in parts]),
        tier=np.concatenate([p.tier for p in parts]),
        because=np.concatenate([p.because for p in parts]),
    )


def _no_candidates() -> _Candidates:
    empty = np.empty(0, dtype=np.int64)
    return _Candidates(
        visitor=empty,
        product=empty.copy(),
        score=np.empty(0, dtype=np.float64),
        tier=np.empty(0, dtype=np.int8),
        because=np.empty((0, REASON_PRODUCTS), dtype=np.int64),
    )
