"""The live protocol: shoppers filling a basket now, replayed from the test period's orders.

Every order (or imported invoice) of the test period with at least MIN_ORDER_PRODUCTS distinct
products is a case: the first half of its products (in the order they were recorded) are put
in the basket as add-to-cart events of that visitor at that moment, the served recommender is
asked, and the rest of the order is what it should find. Cases are replayed in time order with
no look ahead: the visitor's history is their events before the moment, the session index
holds the sessions that ended INDEX_LAG_SECONDS before it (what the frequent pipeline has
indexed by then), and the nightly parts (neighbours, trending, the learned lists) are those of
the split, as the night before the test period left them.

Three rows, each beside the same peers:
- guests: every case asked as a fresh anonymous visitor (the basket is all it has), the
  default list;
- returning: the cases of visitors who purchased before, with their history, the default list;
  relevant are the remaining products new to them (history and basket left out everywhere);
- returning_all: the same cases and the list with interacted products allowed; relevant are all
  the remaining products, and no list may suggest what is in the basket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender.algorithms.arrays import Catalog, Histories, Live, Ranked, Rules
from recommender.algorithms.baselines import top_lists
from recommender.algorithms.ease import EASE_MAX_PRODUCTS, ease_weights
from recommender.algorithms.events import (
    ADD_TO_CART,
    PURCHASE,
    EventArrays,
    FloatArray,
    IntArray,
    pair_key,
    positions,
    rank_within,
    slices,
)
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.sessions import (
    INDEX_LAG_SECONDS,
    CurrentSessions,
    SessionConfig,
    SessionIndex,
    session_candidates,
)
from recommender.algorithms.threads import in_order
from recommender.algorithms.tiered import recommend

MIN_ORDER_PRODUCTS = 4
# A visitor's purchases recorded within this many seconds of the one before are one order: a
# checkout or an imported invoice records its lines at one moment (the demo's within a second).
# Two invoices a minute apart stay two orders, the second knowing the first, as the issue's
# protocol replays them.
ORDER_GAP_SECONDS = 5.0
GUESTS, RETURNING, RETURNING_ALL = "live_guests", "live_returning", "live_returning_all"
LIVE_ROWS = (GUESTS, RETURNING, RETURNING_ALL)
# The plain session-kNN peer: the 100 nearest past sessions, every basket product alike.
PLAIN_SKNN = SessionConfig(neighbours=100, sample=100_000, decay=False)


@dataclass(frozen=True)
class LiveCases:
    """The sampled cases in time order: each one's visitor, moment and whether the visitor
    purchased before it; basket and rest as (case, product) rows, grouped by case."""

    visitor: IntArray
    at: FloatArray
    returning: npt.NDArray[np.bool_]
    basket: IntArray
    rest: IntArray
    # Orders of the test period with enough products, before sampling.
    eligible: int

    def __len__(self) -> int:
        return len(self.at)


def live_cases(
    events: EventArrays, *, split_at: float, until: float, max_cases: int, seed: int = 0
) -> LiveCases:
    """The orders purchased in [split_at, until) with at least MIN_ORDER_PRODUCTS distinct
    products (a uniform sample of max_cases of them, fixed seed), split in half."""
    index = np.flatnonzero(
        (events.event_type == PURCHASE)
        & (events.timestamp >= split_at)
        & (events.timestamp < until)
    )
    visitor, moment, product = events.visitor[index], events.timestamp[index], events.product[index]
    order = np.lexsort((index, moment, visitor))
    visitor, moment, product = visitor[order], moment[order], product[order]
    starts = np.ones(len(order), dtype=np.bool_)
    starts[1:] = (visitor[1:] != visitor[:-1]) | (moment[1:] - moment[:-1] > ORDER_GAP_SECONDS)
    number = np.cumsum(starts) - 1
    # Each product once per order, at its first line.
    _, first = np.unique(np.stack([number, product]), axis=1, return_index=True)
    first = np.sort(first)
    number, product = number[first], product[first]
    size = np.bincount(number, minlength=int(starts.sum()))
    chosen = np.flatnonzero(size >= MIN_ORDER_PRODUCTS)
    eligible = len(chosen)
    if len(chosen) > max_cases:
        chosen = np.sort(np.random.default_rng(seed).choice(chosen, max_cases, replace=False))
    # An order's moment is its first line's: nothing of it is known before.
    order_visitor, order_at = visitor[starts], moment[starts]
    # Cases in time order (ties: by visitor).
    chosen = chosen[np.lexsort((order_visitor[chosen], order_at[chosen]))]
    case_of = np.full(len(size), -1, dtype=np.int64)
    case_of[chosen] = np.arange(len(chosen))
    rows = case_of[number] >= 0
    case, product = case_of[number[rows]], product[rows]
    by_case = np.argsort(case, kind="stable")
    case, product = case[by_case], product[by_case]
    in_basket = rank_within(case) < (size[chosen] // 2)[case]
    case_visitor, case_at = order_visitor[chosen], order_at[chosen]
    purchases = events.select(events.event_type == PURCHASE)
    by_time = np.argsort(purchases.timestamp, kind="stable")
    buyers, first = np.unique(purchases.visitor[by_time], return_index=True)
    position, known = positions(buyers, case_visitor)
    returning = known & (purchases.timestamp[by_time][first][position] < case_at)
    return LiveCases(
        visitor=case_visitor,
        at=case_at,
        returning=returning,
        basket=np.stack([case[in_basket], product[in_basket]]),
        rest=np.stack([case[~in_basket], product[~in_basket]]),
        eligible=eligible,
    )


def prior_events(events: EventArrays, cases: LiveCases) -> EventArrays:
    """Each case's visitor's events before its moment, with the case number as the visitor."""
    order = np.lexsort((events.timestamp, events.visitor))
    visitor, moment = events.visitor[order], events.timestamp[order]
    starts = np.searchsorted(visitor, cases.visitor, side="left")
    stops = np.searchsorted(visitor, cases.visitor, side="right")
    lengths = np.array(
        [
            int(np.searchsorted(moment[start:stop], at, side="left"))
            for start, stop, at in zip(starts, stops, cases.at, strict=True)
        ],
        dtype=np.int64,
    )
    case, rows = slices(starts, lengths)
    taken = order[rows]
    return EventArrays(
        visitor=case,
        product=events.product[taken],
        event_type=events.event_type[taken],
        timestamp=events.timestamp[taken],
    )


def basket_events(cases: LiveCases) -> EventArrays:
    """The baskets as add-to-cart events of each case at its moment."""
    case, product = cases.basket
    return EventArrays(
        visitor=case,
        product=product,
        event_type=np.full(len(case), ADD_TO_CART, dtype=np.int8),
        timestamp=cases.at[case],
    )


def basket_sessions(cases: LiveCases) -> CurrentSessions:
    """The baskets as current sessions, asked when the index had what ended INDEX_LAG_SECONDS
    before each moment."""
    return CurrentSessions(
        query=cases.basket[0], product=cases.basket[1], at=cases.at - INDEX_LAG_SECONDS
    )


def only(events: EventArrays, cases: IntArray) -> EventArrays:
    """The events of some cases (visitor: case number), renumbered to their order in `cases`."""
    position, known = positions(cases, events.visitor)
    chosen = events.select(known)
    return EventArrays(
        visitor=position[known],
        product=chosen.product,
        event_type=chosen.event_type,
        timestamp=chosen.timestamp,
    )


def relevant_pairs(cases: LiveCases, row: str, prior: EventArrays) -> tuple[IntArray, IntArray]:
    """The evaluated cases of a row and their relevant (position among them, product) pairs."""
    if row == GUESTS:
        chosen = np.arange(len(cases), dtype=np.int64)
    else:
        chosen = np.flatnonzero(cases.returning)
    position, known = positions(chosen, cases.rest[0])
    pairs = np.stack([position[known], cases.rest[1][known]])
    if row == RETURNING:
        seen_position, seen_known = positions(chosen, prior.visitor)
        seen = pair_key(seen_position[seen_known], prior.product[seen_known])
        pairs = pairs[:, ~np.isin(pair_key(pairs[0], pairs[1]), seen)]
    return chosen, pairs


@dataclass(frozen=True)
class Peers:
    """The peers' inputs, trained before the split: trending, cosine neighbours and EASE."""

    trending: Ranked
    cosine: Neighbours
    # The EASE weights over the catalog's columns for the basket and the customer EASE peers
    # (each with its own penalty; the same array when equal); None above EASE_MAX_PRODUCTS.
    ease: FloatArray | None
    customer_ease: FloatArray | None


def peer_weights(train: sp.csr_matrix, *, l2: float) -> FloatArray | None:
    """EASE over a visitors x catalog binary training matrix (None: a catalog too large)."""
    if train.shape[1] > EASE_MAX_PRODUCTS:
        return None
    # Only the weights are kept: the pair counts the solve also returns go at once.
    weights: FloatArray = ease_weights(train, l2=l2)[0]
    return weights


# Columns of the float32 EASE weights made float64 at a time by _times_weights.
WEIGHT_COLUMNS = 1_024


def _times_weights(cases: sp.csr_matrix, weights: np.ndarray) -> FloatArray:
    """cases @ weights in double precision, as SciPy computes it, converting a block of the
    weights' columns at a time: SciPy would copy all of them to float64 (800 MB at 10,000
    products) for every chunk of cases. Each score sums the same terms in the same order."""
    scores = np.empty((cases.shape[0], weights.shape[1]))
    for start in range(0, weights.shape[1], WEIGHT_COLUMNS):
        block = np.ascontiguousarray(weights[:, start : start + WEIGHT_COLUMNS], dtype=np.float64)
        scores[:, start : start + WEIGHT_COLUMNS] = cases @ block
    return scores


PEER_NAMES = ("popularity", "item_knn", "session_knn", "basket_ease", "customer_ease")
# At most 2**23 float64 scores (64 MiB) of a peer's lists held at once.
PEER_CHUNK_CELLS = 2**23


def peer_lists(
    name: str,
    *,
    cases: LiveCases,
    row: str,
    chosen: IntArray,
    prior: EventArrays,
    catalog: Catalog,
    peers: Peers,
    index: SessionIndex,
    k: int,
) -> IntArray | None:
    """One peer's (chosen cases, k) lists of product ids (-1 padded); None when it cannot
    run (EASE over a catalog too large) or does not apply (customer EASE for guests)."""
    if name == "customer_ease" and row == GUESTS:
        return None
    if (name == "basket_ease" and peers.ease is None) or (
        name == "customer_ease" and peers.customer_ease is None
    ):
        return None
    neighbours = _neighbour_matrix(peers.cosine, catalog) if name == "item_knn" else None
    sessions = basket_sessions(cases) if name == "session_knn" else None
    size = len(catalog.product)

    def lists_of(some: IntArray) -> IntArray:
        """The lists of some of the chosen cases (dense scores over the catalog)."""
        basket = _matrix(*_of_cases(cases.basket, some), catalog)
        history = _matrix(*_of_cases(np.stack([prior.visitor, prior.product]), some), catalog)
        exclude = basket + history if row == RETURNING else basket
        if name == "popularity":
            vector = np.zeros(size)
            position, known = positions(catalog.product, peers.trending.product)
            vector[position[known]] = peers.trending.score[known]
            scores: FloatArray = np.tile(vector, (len(some), 1))
        elif name == "item_knn":
            scores = (basket @ neighbours).toarray()
        elif name == "session_knn" and sessions is not None:
            position, known = positions(some, sessions.query)
            ranked = session_candidates(
                index,
                CurrentSessions(
                    query=position[known], product=sessions.product[known], at=sessions.at[some]
                ),
                PLAIN_SKNN,
            )
            scores = _matrix(
                np.stack([ranked.group, ranked.product]), len(some), catalog, values=ranked.score
            ).toarray()
        elif name == "basket_ease" and peers.ease is not None:
            scores = _times_weights(basket, peers.ease)
        elif name == "customer_ease" and peers.customer_ease is not None:
            scores = _times_weights(
                ((basket + history) > 0).astype(np.float64), peers.customer_ease
            )
        else:
            raise ValueError(f"No such peer: {name}")
        scores[scores <= 0] = -np.inf
        return top_lists(scores, catalog, k, exclude=exclude)

    # A chunk of cases at a time: each holds (cases x catalog) dense scores, and 5,000 cases
    # over 100,000 products would be 4 GB per copy. Two chunks at once, in threads (their
    # dense products and partitions release the GIL).
    chunk = max(1, PEER_CHUNK_CELLS // max(size, 1))
    chunks = (chosen[first : first + chunk] for first in range(0, len(chosen), chunk))
    lists = list(in_order(lists_of, chunks))
    if not lists:
        return np.empty((0, min(k, size)), dtype=np.int64)
    return np.concatenate(lists)


def served_lists(
    *,
    cases: LiveCases,
    row: str,
    chosen: IntArray,
    prior: EventArrays,
    neighbours: Neighbours,
    catalog: Catalog,
    category_trending: Ranked,
    global_trending: Ranked,
    rules: Rules,
    live: Ranked,
    learned: Ranked | None,
    repeats: Ranked | None,
) -> IntArray:
    """The served recommender's (chosen cases, k) lists: recommend() with each case's history
    (none for guests) and basket, its live candidates, and the nightly parts.

    `live`, `learned` and `repeats` are grouped by case number."""
    basket = only(basket_events(cases), chosen)
    history = basket if row == GUESTS else EventArrays.concatenate([only(prior, chosen), basket])
    live_rows = live.regrouped(chosen)
    recommendations = recommend(
        histories=Histories.from_events(history, np.arange(len(chosen), dtype=np.int64)),
        visitor_count=len(chosen),
        neighbours=neighbours,
        catalog=catalog,
        category_trending=category_trending,
        global_trending=global_trending,
        rules=rules,
        repeats=None if repeats is None or row == GUESTS else repeats.regrouped(chosen),
        learned=None if learned is None or row == GUESTS else learned.regrouped(chosen),
        live=Live(
            candidates=live_rows,
            anchor=np.full(len(live_rows.product), -1, dtype=np.int64),
            basket_visitor=basket.visitor,
            basket_product=basket.product,
        ),
    )
    return recommendations.lists(len(chosen), rules.k)


def _of_cases(pairs: IntArray, chosen: IntArray) -> tuple[IntArray, int]:
    position, known = positions(chosen, pairs[0])
    return np.stack([position[known], pairs[1][known]]), len(chosen)


def _matrix(
    pairs: IntArray, rows: int, catalog: Catalog, values: FloatArray | None = None
) -> sp.csr_matrix:
    column, known = positions(catalog.product, pairs[1])
    data = np.ones(int(known.sum())) if values is None else values[known]
    matrix = sp.csr_matrix(
        (data, (pairs[0][known], column[known])), shape=(rows, len(catalog.product))
    )
    if values is None:
        matrix = (matrix > 0).astype(np.float64)
    return matrix


def _neighbour_matrix(neighbours: Neighbours, catalog: Catalog) -> sp.csr_matrix:
    row, row_known = positions(catalog.product, neighbours.product)
    column, column_known = positions(catalog.product, neighbours.neighbour)
    known = row_known & column_known
    size = len(catalog.product)
    return sp.csr_matrix((neighbours.score[known], (row[known], column[known])), shape=(size, size))
