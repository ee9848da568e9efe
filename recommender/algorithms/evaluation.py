"""Offline evaluation: a temporal split, the recommenders trained on the past, scored on the future.

Everything before the split time trains (trending, item-to-item neighbours, histories);
the products a visitor purchased after it are the relevant ones. Two protocols: "all"
(every test purchase) and "discovery" (only purchases of products the visitor never interacted
with before the split; the served recommender leaves interacted products out, which helps
discovery but hides a product already in the cart). Every recommender is the served
`recommend()` function with different inputs, so what is measured is what is served.

A third, the live protocol (live.py), replays the test period's orders as baskets filled now:
the served recommender (the first contender) beside its peers, in three rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from recommender.algorithms.baselines import training_matrix
from recommender.algorithms.behavioural import (
    SimilarityMethod,
    behavioural_neighbours,
    resolved_method,
)
from recommender.algorithms.buy_again import DEFAULT_HALF_LIFE_DAYS, repeat_scores
from recommender.algorithms.ease import DEFAULT_L2
from recommender.algorithms.events import (
    PURCHASE,
    SECONDS_PER_DAY,
    EventArrays,
    IntArray,
    grouped,
    pair_key,
    positions,
)
from recommender.algorithms.item_similarity import (
    DEFAULT_MIN_COMMON_VISITORS,
    Neighbours,
    blend_neighbours,
    interaction_matrix,
)
from recommender.algorithms.live import (
    GUESTS,
    LIVE_ROWS,
    PEER_NAMES,
    RETURNING_ALL,
    LiveCases,
    Peers,
    basket_sessions,
    live_cases,
    peer_lists,
    peer_weights,
    prior_events,
    relevant_pairs,
    served_lists,
)
from recommender.algorithms.live_blend import live_blend
from recommender.algorithms.live_ranker import (
    LiveRanker,
    LiveRankerConfig,
    Nightly,
    NightlyInputs,
    fit_live_ranker,
    live_ranked,
    query_features,
)
from recommender.algorithms.merchandising import Merchandising
from recommender.algorithms.progress import Progress
from recommender.algorithms.ranker import (
    RANKED_LIST_MARGIN,
    list_owners,
    ranked_lists,
    ranker_fit,
)
from recommender.algorithms.sessions import (
    DEFAULT_SESSION_CONFIG,
    SessionConfig,
    session_candidates,
    session_index,
)
from recommender.algorithms.threads import in_order
from recommender.algorithms.tiered import (
    NEIGHBOURS_PER_EVENT,
    Catalog,
    Histories,
    Ranked,
    Rules,
    recommend,
)
from recommender.algorithms.trending import WINDOWS, trending_scores

DEFAULT_KS = (5, 10, 20)
# The live protocol's session index: as many past sessions as the served one holds.
LIVE_INDEX_MAX_SESSIONS = 200_000

METRICS = ("recall", "precision", "hit_rate", "ndcg", "map")
ALL_PURCHASES, DISCOVERY = "all", "discovery"


@dataclass(frozen=True)
class RankingMetrics:
    """Mean metrics over the visitors of one protocol; figures[(metric, k)]."""

    visitors: int
    figures: dict[tuple[str, int], float]
    # Share of the available catalog recommended to at least one visitor (at the largest k).
    coverage: float


# The name suffix of the served recommender measured with the shop's merchandising rules.
WITH_RULES = "_with_rules"


def ranking_metrics(
    recommended: IntArray, relevant_visitor: IntArray, relevant_product: IntArray, ks: Sequence[int]
) -> dict[tuple[str, int], float]:
    """Recall, precision, hit rate, NDCG and MAP at each k, averaged over the matrix's rows.

    `recommended` is (visitors, max k) of product ids, -1 padded; relevance is binary and given
    as (row, product) pairs, each row having at least one.
    """
    visitors = recommended.shape[0]
    if visitors == 0:
        return {(metric, k): 0.0 for metric in METRICS for k in ks}
    rows = np.repeat(np.arange(visitors, dtype=np.int64), recommended.shape[1])
    hits = np.isin(
        pair_key(rows, recommended.ravel()), pair_key(relevant_visitor, relevant_product)
    ).reshape(recommended.shape) & (recommended >= 0)
    relevant_count = np.bincount(relevant_visitor, minlength=visitors).astype(np.float64)
    discount = 1.0 / np.log2(np.arange(2, recommended.shape[1] + 2))
    ideal = np.cumsum(discount)
    figures: dict[tuple[str, int], float] = {}
    for k in ks:
        top = hits[:, :k].astype(np.float64)
        found = top.sum(axis=1)
        attainable = np.minimum(relevant_count, k)
        precision_at_rank = np.cumsum(top, axis=1) / np.arange(1, k + 1)
        figures[("recall", k)] = float(np.mean(found / relevant_count))
        figures[("precision", k)] = float(np.mean(found / k))
        figures[("hit_rate", k)] = float(np.mean(found > 0))
        figures[("ndcg", k)] = float(
            np.mean((top * discount[:k]).sum(axis=1) / ideal[attainable.astype(np.int64) - 1])
        )
        figures[("map", k)] = float(np.mean((precision_at_rank * top).sum(axis=1) / attainable))
    return figures


@dataclass(frozen=True)
class Recommender:
    """One contender: which neighbours feed the personalised tier, and which tiers fill."""

    name: str
    behavioural: bool = True
    content: bool = True
    # With both: (1 - w) x behavioural + w x content; products without behavioural
    # neighbours always use their content ones.
    content_weight: float = 0.0
    category_fill: bool = True
    global_fill: bool = True
    include_interacted: bool = False
    # The behavioural neighbours' method; None: the served one (EvaluationConfig.similarity).
    similarity: SimilarityMethod | None = None
    # With include_interacted: the weight of the visitor's own repeat purchases (buy_again).
    repeat_weight: float = 0.0
    # The learned ranker's lists (ranker.py, learnt on the training events) as the
    # personalised tier of the visitors who have one.
    learned: bool = False
    # The live part (sessions.py, live_blend.py): V-SKNN's candidates from the current
    # session blended with its products' neighbours, weighted against the personalised ones
    # (0: none): a history's neighbours, or a learned list or repeats (nightly). Only the live
    # protocol has current sessions.
    live_weight: float = 0.0
    live_weight_nightly: float = 0.0
    live_neighbour_weight: float = 0.0
    session: SessionConfig = DEFAULT_SESSION_CONFIG
    # The request-time learned ranking of the live candidates (live_ranker.py; None: the
    # blend of V-SKNN and the neighbours, live_blend.py).
    live_ranker: LiveRankerConfig | None = None

    def neighbours(self, behavioural: Neighbours, content: Neighbours) -> Neighbours:
        if self.behavioural and self.content:
            return blend_neighbours(
                behavioural,
                content,
                content_weight=self.content_weight,
                top_k=NEIGHBOURS_PER_EVENT,
            )
        if self.behavioural:
            return behavioural
        return content if self.content else Neighbours.concatenate([])


@dataclass(frozen=True)
class EvaluationConfig:
    test_days: float = 7.0
    ks: tuple[int, ...] = DEFAULT_KS
    similarity_days: float = 90.0
    min_common_visitors: int = DEFAULT_MIN_COMMON_VISITORS
    max_per_category: int | None = None
    recommenders: tuple[Recommender, ...] = field(default_factory=tuple)
    similarity: SimilarityMethod = SimilarityMethod.AUTO
    l2: float = DEFAULT_L2
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    # The served buy-again weight (settings.RECOMMENDER_REPEAT_WEIGHT), for the live protocol's
    # list with interacted products allowed.
    repeat_weight: float = 2.0
    # Only visitors who also purchased before the split (returning buyers).
    returning_buyers_only: bool = False
    # Above this many visitors with test purchases, a uniform random sample of them (fixed
    # seed) is evaluated: 5,000 visitors put a hit rate's standard error under 0.7 points.
    max_visitors: int = 5_000
    sample_seed: int = 0
    # The live protocol (live.py) for the served recommender (the first contender) beside its
    # peers, on at most live_max_cases orders (a uniform sample, the same seed).
    live: bool = True
    live_max_cases: int = 5_000
    # The live protocol's EASE peers' penalties (None: l2, the served one's).
    basket_ease_l2: float | None = None
    customer_ease_l2: float | None = None
    # The shop's merchandising rules for the recommended list: when given, the served
    # recommender (the first contender) is measured with them too, as "<name>_with_rules".
    merchandising: Merchandising | None = None


@dataclass(frozen=True)
class EvaluationResult:
    split_at: float
    train_events: int
    test_events: int
    # Visitors with at least one test purchase, before any sampling.
    eligible_visitors: int
    # results[recommender name][protocol]
    results: dict[str, dict[str, RankingMetrics]]
    # Orders of the test period the live protocol could replay, before sampling.
    live_cases: int = 0


@dataclass(frozen=True)
class TemporalSplit:
    """Training events before split_at; the evaluated visitors (ascending ids) and, per
    protocol, their relevant (visitor position, product) pairs from the test period."""

    split_at: float
    train: EventArrays
    test_events: int
    # Visitors with at least one test purchase (and, if asked, a training one), before sampling.
    eligible_visitors: int
    visitor_ids: IntArray
    protocols: dict[str, IntArray]


def temporal_split(
    events: EventArrays,
    *,
    split_at: float,
    until: float,
    max_visitors: int,
    sample_seed: int = 0,
    returning_buyers_only: bool = False,
) -> TemporalSplit:
    """Train on events before split_at, test on the purchases in [split_at, until)."""
    train = events.select(events.timestamp < split_at)
    test = events.select((events.timestamp >= split_at) & (events.timestamp < until))
    purchases = test.select(test.event_type == PURCHASE)
    eligible = np.unique(purchases.visitor)
    if returning_buyers_only:
        eligible = np.intersect1d(eligible, train.visitor[train.event_type == PURCHASE])
    visitor_ids = eligible
    if len(eligible) > max_visitors:
        rng = np.random.default_rng(sample_seed)
        visitor_ids = np.sort(rng.choice(eligible, max_visitors, replace=False))
    purchases = purchases.select(np.isin(purchases.visitor, visitor_ids))
    buyer = np.searchsorted(visitor_ids, purchases.visitor)
    bought = grouped(buyer, purchases.product)
    relevant = np.stack([bought.keys(buyer), bought.keys(purchases.product)])
    seen = _seen_before(relevant, visitor_ids, train)
    return TemporalSplit(
        split_at=split_at,
        train=train,
        test_events=len(test),
        eligible_visitors=len(eligible),
        visitor_ids=visitor_ids,
        protocols={ALL_PURCHASES: relevant, DISCOVERY: relevant[:, ~seen]},
    )


def split_metrics(
    lists: IntArray, split: TemporalSplit, catalog: Catalog, ks: Sequence[int]
) -> dict[str, RankingMetrics]:
    """One recommender's lists (a row per evaluated visitor) scored under each protocol."""
    return {
        name: _protocol_metrics(lists, pairs, catalog, ks)
        for name, pairs in split.protocols.items()
    }


def evaluate(
    events: EventArrays,
    *,
    catalog: Catalog,
    content: Neighbours,
    now: float,
    config: EvaluationConfig,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Train every recommender on events before now - test_days, score it on the rest.

    `progress(done, total)` is called after each recommender, and after the live protocol,
    each announced as a phase beforehand (and the learned ranking's training before them).
    """
    split = temporal_split(
        events,
        split_at=now - config.test_days * SECONDS_PER_DAY,
        until=now,
        max_visitors=config.max_visitors,
        sample_seed=config.sample_seed,
        returning_buyers_only=config.returning_buyers_only,
    )
    visitor_ids = split.visitor_ids
    histories = Histories.from_events(split.train, visitor_ids)
    k = max(config.ks)
    global_trending, category_trending = _trending_at(split.train, split.split_at, catalog)
    repeats = repeat_scores(
        split.train, visitor_ids, now=split.split_at, half_life_days=config.half_life_days
    )
    cases = (
        live_cases(
            events,
            split_at=split.split_at,
            until=now,
            max_cases=config.live_max_cases,
            seed=config.sample_seed,
        )
        if config.live and config.recommenders
        else None
    )
    case_visitors = (
        np.unique(cases.visitor[cases.returning]) if cases is not None else np.empty(0, np.int64)
    )
    # What the live cases' shoppers did before each case; their products, with the evaluated
    # histories', get the behavioural neighbours, computed once for both.
    prior = prior_events(events, cases) if cases is not None and len(cases) else None
    evaluated_products = np.unique(histories.product)
    if prior is not None and cases is not None:
        evaluated_products = np.union1d(
            evaluated_products, np.concatenate([prior.product, cases.basket[1]])
        )
    behavioural = _Behavioural(split.train, split.split_at, evaluated_products, config)
    runs: list[tuple[str, Recommender, Merchandising | None]] = [
        (contender.name, contender, None) for contender in config.recommenders
    ]
    if config.merchandising is not None and config.recommenders:
        served = config.recommenders[0]
        runs.append((f"{served.name}{WITH_RULES}", served, config.merchandising))
    # The live protocol, when there are orders to replay, is one more step of the progress.
    steps = len(runs) + (1 if cases is not None and len(cases) else 0)
    if progress and any(contender.learned for contender in config.recommenders):
        progress(0, steps, phase="training the learned ranking")
    learned, case_learned = (
        _learned_lists(split, catalog, content, k, case_visitors)
        if any(contender.learned for contender in config.recommenders)
        else (None, None)
    )
    # Only the evaluated histories' products are ever looked up (the live ranking reads the
    # baskets' too).
    all_content, content = content, content.of_products(np.unique(histories.product))

    # Each contender's neighbours first (computed once per method, each in threads of its
    # own), then the contenders scored two at a time in threads (threads.py).
    neighbours = [
        contender.neighbours(behavioural.of(contender.similarity or config.similarity), content)
        for _, contender, _ in runs
    ]
    empty = Ranked.empty()

    def scored(run: int) -> dict[str, RankingMetrics]:
        _, contender, merchandising = runs[run]
        recommendations = recommend(
            histories=histories,
            visitor_count=len(visitor_ids),
            neighbours=neighbours[run],
            catalog=catalog,
            category_trending=category_trending if contender.category_fill else empty,
            global_trending=global_trending if contender.global_fill else empty,
            rules=Rules(
                k=k,
                max_per_category=config.max_per_category,
                include_interacted=contender.include_interacted,
                explain=False,
                repeat_weight=contender.repeat_weight,
            ),
            repeats=repeats,
            learned=learned if contender.learned else None,
            merchandising=merchandising,
        )
        lists = recommendations.lists(len(visitor_ids), k)
        return split_metrics(lists, split, catalog, config.ks)

    results: dict[str, dict[str, RankingMetrics]] = {}
    computed = in_order(scored, range(len(runs)))
    for name, _, _ in runs:
        if progress:
            progress(len(results), steps, phase=name)
        results[name] = next(computed)
        if progress:
            progress(len(results), steps)
    if progress and steps > len(runs):
        progress(len(runs), steps, phase="live protocol")
    live_results = (
        _live_results(
            events,
            cases,
            prior=prior,
            behavioural=behavioural,
            case_visitors=case_visitors,
            learned=case_learned,
            split=split,
            catalog=catalog,
            content=content,
            all_content=all_content,
            trending=(global_trending, category_trending),
            config=config,
        )
        if cases is not None and prior is not None
        else {}
    )
    for name, rows in live_results.items():
        results.setdefault(name, {}).update(rows)
    if progress and steps > len(runs):
        progress(steps, steps)
    return EvaluationResult(
        split_at=split.split_at,
        train_events=len(split.train),
        test_events=split.test_events,
        eligible_visitors=split.eligible_visitors,
        results=results,
        live_cases=cases.eligible if cases is not None else 0,
    )


def _learned_lists(
    split: TemporalSplit, catalog: Catalog, content: Neighbours, k: int, others: IntArray
) -> tuple[Ranked | None, Ranked | None]:
    """The ranker learnt on the training events and its lists, as the ranking pipeline would
    have stored them at the split, for the evaluated visitors and for `others` (ascending ids;
    each grouped by position in its ids). None: nothing to learn from, where the
    item-to-item list serves."""
    ranker = ranker_fit(split.train, catalog, content, now=split.split_at)
    if ranker is None:
        return None, None
    # One ranking of everyone asked for who would have a stored list (the snapshot at the
    # split is the costly part); the others are served the item-to-item list.
    everyone = np.intersect1d(np.union1d(split.visitor_ids, others), list_owners(split.train))
    ranked = ranked_lists(
        ranker,
        split.train,
        catalog,
        content,
        now=split.split_at,
        visitor_ids=everyone,
        k=k + RANKED_LIST_MARGIN,
    )
    return _regrouped(ranked, everyone, split.visitor_ids), _regrouped(ranked, everyone, others)


def _regrouped(ranked: Ranked, ids: IntArray, wanted: IntArray) -> Ranked:
    """Rows grouped by position in `ids` regrouped by position in `wanted` (a subset)."""
    position, known = positions(wanted, ids[ranked.group])
    return Ranked(group=position[known], product=ranked.product[known], score=ranked.score[known])


def _live_results(
    events: EventArrays,
    cases: LiveCases,
    *,
    prior: EventArrays,
    behavioural: _Behavioural,
    case_visitors: IntArray,
    learned: Ranked | None,
    split: TemporalSplit,
    catalog: Catalog,
    content: Neighbours,
    all_content: Neighbours,
    trending: tuple[Ranked, Ranked],
    config: EvaluationConfig,
) -> dict[str, dict[str, RankingMetrics]]:
    """The live protocol's figures (live.py): results[name][row] for the served recommender
    (the first contender) and each peer."""
    served = config.recommenders[0]
    k = max(config.ks)
    index = session_index(
        events.select(events.timestamp < split.split_at + config.test_days * SECONDS_PER_DAY),
        catalog,
        max_sessions=LIVE_INDEX_MAX_SESSIONS,
    )
    matrix = training_matrix(split.train, catalog)
    basket_l2 = config.basket_ease_l2 or config.l2
    customer_l2 = config.customer_ease_l2 or config.l2
    ease = peer_weights(matrix, l2=basket_l2)
    peers = Peers(
        trending=trending[0],
        cosine=behavioural.of(SimilarityMethod.COSINE),
        ease=ease,
        customer_ease=ease if customer_l2 == basket_l2 else peer_weights(matrix, l2=customer_l2),
    )
    case_learned = None
    if learned is not None:
        position, known = positions(case_visitors, cases.visitor)
        case_learned = learned.copied_to(np.where(known & cases.returning, position, -1))
    repeats = repeat_scores(
        prior,
        np.arange(len(cases), dtype=np.int64),
        now=float(cases.at.max()) + 1.0,
        half_life_days=config.half_life_days,
    )
    served_neighbours = served.neighbours(
        behavioural.of(served.similarity or config.similarity), content
    )
    sessions = basket_sessions(cases)
    # Learnt at the split from the orders before it, as the nightly job would have; without
    # one (none configured, or too few orders) the blend serves, as it does in the shop.
    ranker = (
        fit_live_ranker(
            events.select(events.timestamp < split.split_at),
            index,
            all_content,
            now=split.split_at,
            session=served.session,
            config=served.live_ranker,
            nightly=NightlyInputs(
                catalog=catalog, content=content, half_life_days=config.half_life_days
            ),
        )
        if served.live_ranker is not None
        else None
    )
    # Each row's live candidates (grouped by case): a returning buyer's nightly ones (the
    # learned list, and the repeats where interacted products are allowed) are ranked with
    # them when the ranking serves, by the model of the row's list.
    live_of: dict[str, Ranked] = {}
    if ranker is not None:
        nightly = Nightly(
            learned=case_learned if served.learned and case_learned is not None else Ranked.empty(),
            repeats=repeats,
        )
        for row in LIVE_ROWS:
            live_of[row], _ = live_ranked(
                ranker,
                query_features(
                    index,
                    sessions,
                    all_content,
                    session=served.session,
                    config=ranker.config,
                    nightly=None if row == GUESTS else nightly,
                    interacted=row == RETURNING_ALL,
                ),
            )
    else:
        blend, _ = live_blend(
            session_candidates(index, sessions, served.session),
            sessions,
            served_neighbours,
            catalog,
            neighbour_weight=served.live_neighbour_weight,
        )
        live_of = dict.fromkeys(LIVE_ROWS, blend)
    results: dict[str, dict[str, RankingMetrics]] = {}
    for row in LIVE_ROWS:
        chosen, relevant = relevant_pairs(cases, row, prior)
        if relevant.shape[1] == 0:
            continue
        lists = served_lists(
            cases=cases,
            row=row,
            chosen=chosen,
            prior=prior,
            neighbours=served_neighbours,
            catalog=catalog,
            category_trending=trending[1],
            global_trending=trending[0],
            rules=Rules(
                k=k,
                max_per_category=config.max_per_category,
                include_interacted=row == RETURNING_ALL,
                explain=False,
                # The list with interacted products allowed blends repeats in, as served.
                repeat_weight=config.repeat_weight,
                live_weight=served.live_weight,
                live_weight_nightly=served.live_weight_nightly,
            ),
            live=live_of[row],
            # Ranked with the live candidates already where the ranking ranked any, as served.
            learned=_unranked(case_learned, live_of[row], ranker) if served.learned else None,
            repeats=_unranked(repeats, live_of[row], ranker),
        )
        results.setdefault(served.name, {})[row] = _protocol_metrics(
            lists, relevant, catalog, config.ks
        )
        for name in PEER_NAMES:
            peer = peer_lists(
                name,
                cases=cases,
                row=row,
                chosen=chosen,
                prior=prior,
                catalog=catalog,
                peers=peers,
                index=index,
                k=k,
            )
            if peer is not None:
                results.setdefault(name, {})[row] = _protocol_metrics(
                    peer, relevant, catalog, config.ks
                )
    return results


def _unranked(nightly: Ranked | None, live: Ranked, ranker: LiveRanker | None) -> Ranked | None:
    """The nightly rows of the cases the live ranking left without candidates (all of them
    when the blend serves): the others' were ranked with their live candidates."""
    if nightly is None or ranker is None:
        return nightly
    return nightly.taken(~np.isin(nightly.group, live.group))


def _seen_before(
    relevant: IntArray, visitor_ids: IntArray, train: EventArrays
) -> npt.NDArray[np.bool_]:
    """Whether each relevant (visitor index, product) pair was interacted with in training."""
    position, known = positions(visitor_ids, train.visitor)
    return np.isin(
        pair_key(relevant[0], relevant[1]), pair_key(position[known], train.product[known])
    )


def _protocol_metrics(
    lists: IntArray, relevant: IntArray, catalog: Catalog, ks: Sequence[int]
) -> RankingMetrics:
    """Metrics over the visitors having at least one relevant product under this protocol."""
    rows, relevant_visitor = np.unique(relevant[0], return_inverse=True)
    chosen = lists[rows]
    figures = ranking_metrics(chosen, relevant_visitor.ravel(), relevant[1], ks)
    recommended = np.unique(chosen[chosen >= 0])
    available = int(catalog.available.sum())
    return RankingMetrics(
        visitors=len(rows),
        figures=figures,
        coverage=len(recommended) / available if available else 0.0,
    )


def _trending_at(train: EventArrays, now: float, catalog: Catalog) -> tuple[Ranked, Ranked]:
    """Global and per-category 7-day trending as the hourly job would have had it at `now`."""
    result = trending_scores(train, now=now, window=WINDOWS[0])
    category = catalog.category_of(result.product)
    return (
        Ranked.of(result.product, result.score),
        Ranked.of(result.product, result.score, group=category),
    )


class _Behavioural:
    """Item-to-item neighbours of some products (the evaluated histories') from the recent
    training events, computed once per method."""

    def __init__(
        self, train: EventArrays, now: float, products: IntArray, config: EvaluationConfig
    ) -> None:
        recent = train.select(train.timestamp >= now - config.similarity_days * SECONDS_PER_DAY)
        self._interactions = interaction_matrix(recent) if len(recent) else None
        self._products = products
        self._config = config
        self._computed: dict[SimilarityMethod, Neighbours] = {}

    def of(self, method: SimilarityMethod) -> Neighbours:
        if self._interactions is None:
            return Neighbours.concatenate([])
        # AUTO is cosine above EASE's size: computed once whichever way it is asked for.
        method = resolved_method(method, len(self._interactions.product_ids))
        if method not in self._computed:
            self._computed[method] = behavioural_neighbours(
                self._interactions,
                method=method,
                top_k=NEIGHBOURS_PER_EVENT,
                min_common_visitors=self._config.min_common_visitors,
                l2=self._config.l2,
                only_products=self._products,
            )
        return self._computed[method]
