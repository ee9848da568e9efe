"""The request-time learned ranking of a visitor's live candidates.

A visitor's current session (its products oldest first, the last weighing most) brings
candidates from two searches of the session index, both limited to the past sessions that
ended before the request: V-SKNN's nearest past sessions (sessions.py), and the products the
session's products were indexed with (item-to-item co-occurrence over the same sessions). A
gradient-boosted classifier (scikit-learn's HistGradientBoostingClassifier) scores each
candidate from FEATURES: how the nearest sessions voted for it, how it co-occurs with the last
product and with the whole session, how popular it is, how alike its name and category are.
It is learnt nightly from the store's own recent orders replayed as the live protocol replays
them (live.py): the first half of each order is the session, the rest is what it should find.

A returning buyer's nightly candidates (their learned list, and the products they bought
before where the list allows them) join the live ones and are scored together, with
NIGHTLY_FEATURES beside the session's: one ranking, so what is in the basket now reorders the
nightly list too. Guests' queries, returning buyers' default lists and their lists with
interacted products each have a model of their own over the same features (LiveRanker says
why). Replayed orders see the nightly lists as the night before them would have: their repeats
from the purchases before the order, their learned list from a ranking learnt at the start of
the training window (on events before it only) and ranked at the last anchor before the order.

Every feature is read from sessions that ended before the moment scored (and content, which
is the catalog's), so training on past orders sees what a request would have seen then. The
served item-to-item table is not a feature: it was learnt from the very orders the training
replays.

Pure: arrays in, a fitted model (serialisable) and ranked candidates out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from recommender.algorithms import pickled
from recommender.algorithms.arrays import Catalog, Ranked
from recommender.algorithms.boosted_trees import CompiledTrees, compiled
from recommender.algorithms.buy_again import DEFAULT_HALF_LIFE_DAYS, repeat_scores
from recommender.algorithms.events import (
    SECONDS_PER_DAY,
    EventArrays,
    FloatArray,
    IntArray,
    pair_key,
    positions,
    slices,
)
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.progress import Progress
from recommender.algorithms.ranker import (
    RankerConfig,
    ranked_lists,
    ranker_fit,
)
from recommender.algorithms.sessions import (
    CurrentSessions,
    SessionConfig,
    SessionIndex,
    nearest_sessions,
    position_weights,
)

if TYPE_CHECKING:
    # live.py replays through the served recommender, which reads this module.
    from recommender.algorithms.live import LiveCases

# A returning buyer's nightly signals of a candidate (0 for guests and products without them).
NIGHTLY_FEATURES = ("learned_score", "learned_rank", "repeat_score", "returning")
FEATURES = (
    "vsknn",
    "vsknn_rank",
    "neighbour_support",
    "nearest_similarity",
    "cosine_last",
    "cosine_max",
    "cosine_weighted",
    "confidence_max",
    "co_occurrence_last",
    "co_occurrence_recent",
    "coverage",
    "popularity",
    "popularity_7_days",
    "popularity_30_days",
    "session_length",
    "content_max",
    "content_last",
    "category_share",
    *NIGHTLY_FEATURES,
)


# The windows of the recent popularity features.
RECENT_DAYS = (7.0, 30.0)


@dataclass(frozen=True)
class LiveRankerConfig:
    """What the ranking learns from and how (chosen on the validation month,
    docs/recommender.md)."""

    # Orders of the last training_days replayed (a uniform sample of max_cases, fixed seed).
    training_days: float = 150.0
    max_cases: int = 20_000
    # Fewer orders than this and nothing is learnt (the blend of V-SKNN and neighbours serves):
    # on August 2011, learnt from 300 orders the ranking was below the blend for guests
    # (0.1955 against 0.1993 NDCG@20), from 1,000 above it (0.2048).
    min_orders: int = 1_000
    # Candidates per query from each search (V-SKNN, co-occurrence), before their union.
    candidates: int = 150
    # Only the session's latest products are read (a long browsing session's first views
    # say little about now, and each product costs a column of the index).
    session_products: int = 20
    iterations: int = 300
    learning_rate: float = 0.05
    leaves: int = 31
    seed: int = 0
    # The replayed orders' learned lists: this long, ranked every learned_anchor_days from the
    # start of the training window by a ranking learnt there.
    learned_length: int = 70
    learned_anchor_days: float = 30.0


DEFAULT_LIVE_RANKER_CONFIG = LiveRankerConfig()


@dataclass(frozen=True)
class Nightly:
    """Each query's nightly candidates, grouped by query: its visitor's learned list (best
    first, with the ranking's scores) and its repeat purchases (buy_again's scores). A query
    with neither is a guest's."""

    learned: Ranked
    repeats: Ranked

    @classmethod
    def none(cls) -> Nightly:
        return cls(learned=Ranked.empty(), repeats=Ranked.empty())

    def of_query(self, query: int) -> tuple[Ranked, Ranked]:
        return self.learned.of_group(query), self.repeats.of_group(query)


@dataclass(frozen=True)
class QueryFeatures:
    """Each query's candidates (rows grouped by query), their FEATURES and the session product
    that brought each most (its anchor)."""

    query: IntArray
    product: IntArray
    anchor: IntArray
    values: FloatArray
    # Whether the visitors' purchases are candidates (the list allows interacted products).
    interacted: bool = False


# Up to this many rows of one model are scored by the compiled trees (a request's few hundred:
# 1.1 against 5.6 ms on one thread); above it, by scikit-learn, whose threads on two cores are
# as fast at 2,000 rows and 1.7x as fast at 10,000.
COMPILED_ROWS = 4_096


@dataclass(frozen=True)
class LiveRanker:
    """A fitted ranking: one classifier per kind of query, over the same FEATURES, and what
    they were learnt with.

    `model` ranks a guest's session (no nightly candidates: their columns are 0); it learnt
    from every replayed order asked as a guest's (a returning buyer on a new device is one).
    A returning buyer's query goes to `model_returning` for the default list, whose personal
    items are products new to them, and to `model_interacted` for the list that allows what
    they bought before: each learnt from the same guests' queries and from returning buyers'
    orders with their nightly candidates, their purchases left out for the first and kept
    for the second. Chosen on August 2011 (NDCG@20): one model for every query ranked
    returning buyers' new products at 0.1040, against 0.1458 with a model of its own; and the
    guests' queries lost 2% (0.2176 to 0.2127) when their model also learnt returning buyers'
    queries."""

    model: HistGradientBoostingClassifier
    model_returning: HistGradientBoostingClassifier
    model_interacted: HistGradientBoostingClassifier
    config: LiveRankerConfig
    session: SessionConfig
    training_cases: int
    training_rows: int
    # What the models read, in order: a snapshot learnt by a release with other features
    # cannot score this release's (see usable_from_bytes).
    features: tuple[str, ...] = FEATURES

    def to_bytes(self) -> bytes:
        return pickled.to_bytes(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> LiveRanker:
        return pickled.from_bytes(data, cls)

    @classmethod
    def usable_from_bytes(cls, data: bytes) -> LiveRanker | None:
        """The stored ranking, or None if an earlier release learnt it with other features
        (until the next nightly run learns one, the blend serves)."""
        ranker = cls.from_bytes(data)
        # vars(), not getattr(): an older object falls back on the class default.
        return ranker if vars(ranker).get("features") == FEATURES else None

    @functools.cached_property
    def _trees(self) -> tuple[CompiledTrees, CompiledTrees, CompiledTrees]:
        """The three models' trees compiled for a request's rows (boosted_trees.py): once per
        process that loads the ranking, and never stored with it (__getstate__)."""
        return (
            compiled(self.model),
            compiled(self.model_returning),
            compiled(self.model_interacted),
        )

    def __getstate__(self) -> dict[str, object]:
        return {name: value for name, value in vars(self).items() if name != "_trees"}

    def score(self, features: QueryFeatures) -> FloatArray:
        """Each row's probability by its query's model: the models' predict_proba, computed
        by the compiled trees for a request's rows."""
        if len(features.product) == 0:
            return np.empty(0, dtype=np.float64)
        probability = np.empty(len(features.product))
        returning = features.values[:, FEATURES.index("returning")] > 0
        models = (self.model, self.model_returning, self.model_interacted)
        buyers = 2 if features.interacted else 1
        for rows, which in ((~returning, 0), (returning, buyers)):
            if rows.sum() > COMPILED_ROWS:
                # An evaluation's month of cases: scikit-learn's own loop over the trees,
                # spread over OpenMP threads, is faster there (the same probabilities), and
                # the process need not compile the trees at all.
                probability[rows] = models[which].predict_proba(features.values[rows])[:, 1]
            elif rows.any():
                probability[rows] = self._trees[which].probability(features.values[rows])
        return probability


def query_features(
    index: SessionIndex,
    sessions: CurrentSessions,
    content: Neighbours,
    *,
    session: SessionConfig,
    config: LiveRankerConfig = DEFAULT_LIVE_RANKER_CONFIG,
    nightly: Nightly | None = None,
    interacted: bool = False,
) -> QueryFeatures:
    """The candidates and features of every query (its session's own products left out), its
    nightly candidates among them (None: every query a guest's); what its visitor bought
    before (the nightly repeats) is left out unless `interacted`."""
    nightly = nightly or Nightly.none()
    query, product, weight = position_weights(sessions)
    starts = np.searchsorted(query, np.arange(len(sessions) + 1))
    content_of = _ContentRows(content)
    usable = _UsableCounts(index, session)
    parts: list[tuple[IntArray, IntArray, FloatArray]] = [_NOTHING] * len(sessions)
    # In time order, so each query's usable sessions' counts follow from the one before's
    # (a replay asks many queries, each at its own time).
    for q in np.argsort(sessions.at, kind="stable").tolist():
        products = product[starts[q] : starts[q + 1]][-config.session_products :]
        parts[q] = _one_query(
            index,
            products,
            weight[starts[q] : starts[q + 1]][-config.session_products :],
            usable.at(float(sessions.at[q])),
            content_of(products),
            nightly.of_query(q),
            interacted,
            session,
            config,
        )
    sizes = np.array([len(part[0]) for part in parts], dtype=np.int64)
    return QueryFeatures(
        query=np.repeat(np.arange(len(sessions), dtype=np.int64), sizes),
        product=np.concatenate([part[0] for part in parts]) if parts else _no_ints(),
        anchor=np.concatenate([part[1] for part in parts]) if parts else _no_ints(),
        values=(
            np.concatenate([part[2] for part in parts]) if parts else np.empty((0, len(FEATURES)))
        ),
        interacted=interacted,
    )


def live_ranked(ranker: LiveRanker, features: QueryFeatures) -> tuple[Ranked, IntArray]:
    """The queries' candidates best first by the ranking's probability (grouped by query),
    with each one's anchor."""
    score = ranker.score(features)
    order = np.lexsort((features.product, -score, features.query))
    return (
        Ranked(group=features.query[order], product=features.product[order], score=score[order]),
        features.anchor[order],
    )


def fit_live_ranker(
    events: EventArrays,
    index: SessionIndex,
    content: Neighbours,
    *,
    now: float,
    session: SessionConfig,
    config: LiveRankerConfig = DEFAULT_LIVE_RANKER_CONFIG,
    nightly: NightlyInputs | None = None,
    progress: Progress | None = None,
) -> LiveRanker | None:
    """The ranking learnt from the orders of the training_days before now, each asked as the
    live protocol asks it, returning buyers with their nightly candidates (`nightly`: what
    they are made from; None: none) (None: fewer than min_orders orders, or none with a
    relevant candidate, to learn from). Reports progress in steps: the guests' queries, the
    nightly ranking and its lists at each anchor, returning buyers' queries for each list,
    then each model's fit."""
    # Imported here: live.py replays through the served recommender, which reads this module.
    from recommender.algorithms.live import basket_sessions

    cases = training_cases(events, now=now, config=config)
    if len(cases) == 0 or cases.eligible < config.min_orders:
        return None
    sessions = basket_sessions(cases)
    returning = np.flatnonzero(cases.returning)
    with_nightly = nightly is not None and len(returning) > 0
    anchors = len(np.unique(_anchors(cases, returning, now=now, config=config)))
    steps = _Steps(progress, 1 + (1 + anchors + 2 + 3 if with_nightly else 1))
    # Each list's model learns from every order asked as a guest's (a returning buyer on a
    # new device is one) and from returning buyers' orders with their nightly candidates
    # (queries numbered by case).
    steps.next(f"replaying {len(cases):,} orders as guests' sessions")
    guests = query_features(index, sessions, content, session=session, config=config)
    everyone = np.arange(len(cases), dtype=np.int64)
    learnt_from = {kind: [(guests, everyone)] for kind in ("guests", "returning", "interacted")}
    if nightly is not None and with_nightly:
        replayed = replayed_nightly(events, cases, nightly, now=now, config=config, steps=steps)
        own = Nightly(
            learned=replayed.learned.regrouped(returning),
            repeats=replayed.repeats.regrouped(returning),
        )
        for kind in ("returning", "interacted"):
            steps.next(f"replaying {len(returning):,} returning buyers' orders ({kind} list)")
            asked = query_features(
                index, _sessions_of(sessions, returning), content, session=session,
                config=config, nightly=own, interacted=kind == "interacted",
            )  # fmt: skip
            learnt_from[kind].append((asked, returning))
    models: dict[str, HistGradientBoostingClassifier] = {}
    for kind, parts in learnt_from.items():
        if len(parts) == 1 and models:
            # No returning buyer's query to learn from: the guests' model ranks them too.
            models[kind] = models["guests"]
            continue
        steps.next(f"learning the {kind} model from {sum(len(f.product) for f, _ in parts):,} rows")
        case = np.concatenate([numbers[features.query] for features, numbers in parts])
        product = np.concatenate([features.product for features, _ in parts])
        relevant = np.isin(pair_key(case, product), pair_key(cases.rest[0], cases.rest[1]))
        if not relevant.any() or relevant.all():
            return None
        model = HistGradientBoostingClassifier(
            max_iter=config.iterations,
            learning_rate=config.learning_rate,
            max_leaf_nodes=config.leaves,
            early_stopping=False,
            random_state=config.seed,
        )
        values = np.concatenate([features.values for features, _ in parts])
        models[kind] = model.fit(values, relevant)
    steps.finish()
    return LiveRanker(
        model=models["guests"],
        model_returning=models["returning"],
        model_interacted=models["interacted"],
        config=config,
        session=session,
        training_cases=len(cases),
        # Every query asked: each order as a guest's, returning buyers' once more per list.
        training_rows=sum(
            len(features.product) for parts in learnt_from.values() for features, _ in parts[1:]
        )
        + len(guests.product),
    )


def _sessions_of(sessions: CurrentSessions, chosen: IntArray) -> CurrentSessions:
    """The chosen queries' sessions (ascending), numbered by their position in `chosen`."""
    position, known = positions(chosen, sessions.query)
    return CurrentSessions(
        query=position[known], product=sessions.product[known], at=sessions.at[chosen]
    )


@dataclass(frozen=True)
class NightlyInputs:
    """What replayed orders' nightly candidates are made from: the catalog and content
    neighbours the learned ranking reads, its configuration, and buy-again's half-life."""

    catalog: Catalog
    content: Neighbours
    ranker: RankerConfig = field(default_factory=RankerConfig)
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS


def replayed_nightly(
    events: EventArrays,
    cases: LiveCases,
    inputs: NightlyInputs,
    *,
    now: float,
    config: LiveRankerConfig,
    steps: _Steps | None = None,
) -> Nightly:
    """Each replayed order's nightly candidates (grouped by case), as the night before it
    would have served them, with nothing of the order or later: the repeats of its visitor's
    purchases before it, and its visitor's learned list from a ranking learnt on the events
    before the training window, ranked at the last anchor (every learned_anchor_days from the
    window's start) before the order. Only returning buyers' orders have any."""
    from recommender.algorithms.live import prior_events  # see TYPE_CHECKING above

    numbers = np.arange(len(cases), dtype=np.int64)
    returning = np.flatnonzero(cases.returning)
    prior = prior_events(events, cases)
    # Scaled to each visitor's best, as served, so the moment they decay to does not matter.
    repeats = repeat_scores(
        prior, numbers, now=float(cases.at.max()) + 1.0, half_life_days=inputs.half_life_days
    )
    steps = steps or _Steps(None, 0)
    start = now - config.training_days * SECONDS_PER_DAY
    steps.next("learning the nightly ranking as it was at the training window's start")
    # Learnt once, at the window's start: learning again at every anchor gave the same
    # (August 2011: 0.1054 against 0.1040 NDCG@20 for returning buyers' new products).
    ranker = ranker_fit(
        events.select(events.timestamp < start),
        inputs.catalog,
        inputs.content,
        now=start,
        config=inputs.ranker,
    )
    if ranker is None or len(returning) == 0:
        return Nightly(learned=Ranked.empty(), repeats=repeats)
    anchor = _anchors(cases, returning, now=now, config=config)
    parts = []
    for at in np.unique(anchor):
        steps.next("ranking the learned lists of returning buyers as they were then")
        owners = returning[anchor == at]
        visitors, owner_position = np.unique(cases.visitor[owners], return_inverse=True)
        lists = ranked_lists(
            ranker,
            events,
            inputs.catalog,
            inputs.content,
            now=float(at),
            visitor_ids=visitors,
            k=config.learned_length,
        )
        # Copied from each visitor's list to each of their orders at that anchor.
        owner = np.full(len(cases), -1, dtype=np.int64)
        owner[owners] = owner_position
        parts.append(lists.copied_to(owner))
    learned = Ranked.concatenate(parts)
    return Nightly(learned=learned.taken(np.argsort(learned.group, kind="stable")), repeats=repeats)


def _anchors(
    cases: LiveCases, returning: IntArray, *, now: float, config: LiveRankerConfig
) -> FloatArray:
    """The moment each returning buyer's order sees its learned list ranked at: the last
    anchor (every learned_anchor_days from the training window's start) before it."""
    start = now - config.training_days * SECONDS_PER_DAY
    every = config.learned_anchor_days * SECONDS_PER_DAY
    anchor: FloatArray = start + np.floor((cases.at[returning] - start) / every) * every
    return anchor


class _Steps:
    """Progress in steps of work announced one at a time (each named as it starts)."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress, self._total, self._done = progress, total, -1

    def next(self, phase: str) -> None:
        self._done += 1
        if self._progress is not None:
            self._progress(min(self._done, self._total), self._total, phase=phase)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self._total, self._total)


def training_orders(events: EventArrays, *, now: float, config: LiveRankerConfig) -> int:
    """How many orders the ranking would learn from at `now` (before sampling)."""
    return training_cases(events, now=now, config=config).eligible


def training_cases(events: EventArrays, *, now: float, config: LiveRankerConfig) -> LiveCases:
    from recommender.algorithms.live import live_cases  # see TYPE_CHECKING above

    return live_cases(
        events,
        split_at=now - config.training_days * SECONDS_PER_DAY,
        until=now,
        max_cases=config.max_cases,
        seed=config.seed,
    )


def _no_ints() -> IntArray:
    return np.empty(0, dtype=np.int64)


# A query without candidates: (candidates, anchors, features).
_NOTHING: tuple[IntArray, IntArray, FloatArray] = (
    _no_ints(),
    _no_ints(),
    np.empty((0, len(FEATURES))),
)


def _one_query(
    index: SessionIndex,
    product: IntArray,
    weight: FloatArray,
    asked: _Usable,
    content: Neighbours,
    nightly: tuple[Ranked, Ranked],
    interacted: bool,
    session: SessionConfig,
    config: LiveRankerConfig,
) -> tuple[IntArray, IntArray, FloatArray]:
    """One session's (candidates, anchors, features), asked when `asked` says; `nightly`
    its learned list and repeats, the repeats left out of the candidates unless
    `interacted`."""
    column, known = positions(index.product, product)
    column, weight = column[known], weight[known]
    if len(index) == 0 or len(column) == 0:
        return _NOTHING
    at, usable, frequency = asked.at, asked.rows, asked.frequency
    # V-SKNN: the nearest past sessions vote with their similarity.
    neighbour_rows, similarity = nearest_sessions(
        index, column, weight, at, session, frequency=frequency, sessions=usable[1] - usable[0]
    )
    # Only the products the two searches reach, and the nightly candidates, can score or be
    # chosen: the query is computed over those, not over every indexed product (93,512 at the
    # 100x demo store), with the same sums in the same order.
    voters = _voters(index, neighbour_rows, similarity)
    co_occurring = _CoOccurring.of(index, column, usable)
    learned, repeats = nightly
    nightly_columns = [_indexed(index, listed.product) for listed in nightly]
    touched = np.unique(np.concatenate([column, co_occurring.held, voters.held, *nightly_columns]))
    votes, support = voters.tallied(touched, len(neighbour_rows))
    counts, recent_counts, frequency_of = co_occurring.counted(
        touched, len(column), weight, _first_row_since(index, at, RECENT_DAYS[-1])
    )
    cosine = counts / np.sqrt(
        np.maximum(frequency_of, 1.0)[:, None] * np.maximum(frequency[touched], 1.0)
    )
    weighted = weight @ cosine
    # Candidates: the best of each search and the nightly ones, the session's own products
    # (and, unless interacted products are allowed, what the visitor bought before) left out.
    left_out = np.zeros(len(touched), dtype=np.bool_)
    left_out[np.searchsorted(touched, column)] = True
    if not interacted:
        left_out[np.searchsorted(touched, nightly_columns[1])] = True
    chosen: list[IntArray] = []
    for scores in (votes, weighted):
        if scores is None:
            continue
        # Only the few products with a score are sorted; ascending ids into a stable sort
        # order ties by id, as sorting every product did.
        scored = np.flatnonzero((scores > 0) & ~left_out)
        chosen.append(scored[np.argsort(-scores[scored], kind="stable")][: config.candidates])
    for listed_columns in nightly_columns:
        listed = np.searchsorted(touched, listed_columns)
        chosen.append(listed[~left_out[listed]])
    # Positions in `touched`, ascending, and the index columns they stand for.
    local = np.unique(np.concatenate(chosen)) if chosen else _no_ints()
    if len(local) == 0:
        return _NOTHING
    candidate = touched[local]
    counts, cosine = counts[:, local], cosine[:, local]
    votes = votes[local] if votes is not None else None
    support = support[local] if support is not None else None
    weighted, recent_counts = weighted[local], recent_counts[local]
    vote = votes if votes is not None else np.zeros(len(candidate))
    vote = vote / (vote.max() if vote.max() > 0 else 1.0)
    item = weighted / max(float(weighted.max()), 1e-12)
    # What sells now: shops are seasonal, and the half-year's counts hide it.
    recent = [
        np.log1p(_held_by(index, candidate, (_first_row_since(index, at, days), usable[1])))
        for days in RECENT_DAYS
    ]
    confidence = counts / np.maximum(frequency_of, 1.0)[:, None]
    content_scores = _content(content, index.product[column], index.product[candidate])
    same_category = (index.category[candidate][None, :] == index.category[column][:, None]).mean(
        axis=0
    )
    values = np.column_stack(
        [
            vote,
            _ranks(vote, candidate),
            support if support is not None else np.zeros(len(candidate)),
            np.full(len(candidate), similarity.max() if len(similarity) else 0.0),
            cosine[-1],
            cosine.max(axis=0),
            item,
            confidence.max(axis=0),
            np.log1p(counts[-1]),
            np.log1p(recent_counts),
            (counts > 0).mean(axis=0),
            np.log1p(frequency[candidate]),
            *recent,
            np.full(len(candidate), float(len(column))),
            content_scores.max(axis=0),
            content_scores[-1],
            same_category,
            *_nightly_values(index.product[candidate], learned, repeats),
        ]
    )
    brought = counts * weight[:, None]
    anchor = np.where(
        brought.max(axis=0) > 0, index.product[column[brought.argmax(axis=0)]], -1
    ).astype(np.int64)
    return index.product[candidate], anchor, values


@dataclass(frozen=True)
class _Voters:
    """The nearest sessions' products (index columns) and what each holding adds: the
    session's similarity times the product's weight there, and the weight alone."""

    held: IntArray
    vote: FloatArray
    data: FloatArray

    def tallied(
        self, touched: IntArray, sessions: int
    ) -> tuple[FloatArray | None, FloatArray | None]:
        """Each touched product's votes (the summed similarity of the nearest sessions holding
        it) and the share of those sessions holding it; None without any."""
        if sessions == 0:
            return None, None
        at = np.searchsorted(touched, self.held)
        votes = np.bincount(at, weights=self.vote, minlength=len(touched)).astype(
            np.float64, copy=False
        )
        support = np.bincount(at, weights=self.data, minlength=len(touched)) / sessions
        return votes, support


def _voters(index: SessionIndex, rows: IntArray, similarity: FloatArray) -> _Voters:
    """The nearest sessions' holdings, read off the index rows' arrays: the same sums, in the
    same order, as the sparse products, without building matrices."""
    indptr = index.matrix.indptr
    owner, at = slices(indptr[rows], indptr[rows + 1] - indptr[rows])
    held, data = index.matrix.indices[at].astype(np.int64), index.matrix.data[at]
    return _Voters(held=held, vote=data * similarity[owner], data=data)


def _indexed(index: SessionIndex, products: IntArray) -> IntArray:
    """The index columns of those of these products the index has."""
    column, known = positions(index.product, products)
    indexed: IntArray = column[known]
    return indexed


def _nightly_values(
    candidate: IntArray, learned: Ranked, repeats: Ranked
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """NIGHTLY_FEATURES of one query's candidates: the learned list's score and reciprocal
    rank, the repeat score scaled to the visitor's best, and whether the visitor has either."""
    learned_score, learned_rank, repeat_score = (np.zeros(len(candidate)) for _ in range(3))
    position, listed = positions(candidate, learned.product)
    learned_score[position[listed]] = learned.score[listed]
    learned_rank[position[listed]] = 1.0 / (1.0 + np.flatnonzero(listed))
    position, bought = positions(candidate, repeats.product)
    if bought.any():
        repeat_score[position[bought]] = repeats.score[bought] / repeats.score[bought].max()
    returning = float(len(learned.product) + len(repeats.product) > 0)
    return learned_score, learned_rank, repeat_score, np.full(len(candidate), returning)


@dataclass(frozen=True)
class _CoOccurring:
    """The usable sessions holding the session's products: for each (session product, index
    row) pair, every product that row holds."""

    row: IntArray  # the session product's position
    held: IntArray  # the index column held
    holding: IntArray  # the index row
    # How many usable sessions hold each session product.
    frequency_of: FloatArray

    @classmethod
    def of(cls, index: SessionIndex, column: IntArray, usable: tuple[int, int]) -> _CoOccurring:
        owner, holding = _rows_holding(index, column, usable)
        indptr = index.matrix.indptr
        session_of, at = slices(indptr[holding], indptr[holding + 1] - indptr[holding])
        return cls(
            row=owner[session_of],
            held=index.matrix.indices[at].astype(np.int64),
            holding=holding[session_of],
            frequency_of=np.bincount(owner, minlength=len(column)).astype(np.float64),
        )

    def counted(
        self, touched: IntArray, products: int, weight: FloatArray, recent_start: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(session products x touched products) counts of the usable sessions holding both,
        the position-weighted counts over the recent ones (from row recent_start), and how
        many usable sessions hold each session product."""
        at = np.searchsorted(touched, self.held)
        counts = np.bincount(self.row * len(touched) + at, minlength=products * len(touched))
        recent = self.holding >= recent_start
        recent_counts = np.bincount(
            at[recent], weights=weight[self.row[recent]], minlength=len(touched)
        )
        return (
            counts.reshape(products, len(touched)).astype(np.float64),
            recent_counts.astype(np.float64),
            self.frequency_of,
        )


def _ranks(score: FloatArray, candidate: IntArray) -> FloatArray:
    """Each candidate's rank by score (0: the best; ties by product)."""
    rank = np.empty(len(score))
    rank[np.lexsort((candidate, -score))] = np.arange(len(score))
    return rank


def _usable_rows(index: SessionIndex, at: float, session: SessionConfig) -> tuple[int, int]:
    """The index rows (a range: rows are in end-time order) a query at `at` may read."""
    stop = int(np.searchsorted(index.ended, at, side="left"))
    start = 0 if session.max_age_days is None else _first_row_since(index, at, session.max_age_days)
    return start, stop


def _first_row_since(index: SessionIndex, at: float, days: float) -> int:
    """The first index row of the sessions that ended at most `days` before `at`."""
    return int(np.searchsorted(index.ended, at - days * SECONDS_PER_DAY, side="left"))


@dataclass(frozen=True)
class _Usable:
    """A query's time, the index rows it may read (a range) and how many of them hold each
    product. The counts are only read, and only until the next query is asked."""

    at: float
    rows: tuple[int, int]
    frequency: FloatArray


class _UsableCounts:
    """How many usable sessions hold each product, for queries asked in time order: both
    ends of the usable rows only move forward with time, so each query's counts are the
    previous query's plus the rows that became usable, minus those that aged out. Counting
    every usable row again cost a replay (thousands of queries, each at its own time) a fifth
    of its queries' time at 100,000 products. The counts are whole numbers, so they are the
    same whichever way they are summed. A request made now reads every row: the whole index's
    counts, computed once."""

    def __init__(self, index: SessionIndex, session: SessionConfig) -> None:
        self.index, self.session = index, session
        self.counts = np.zeros(len(index.product))
        self.rows = (0, 0)

    def at(self, at: float) -> _Usable:
        rows = _usable_rows(self.index, at, self.session)
        if rows == (0, len(self.index)):
            return _Usable(at, rows, self.index.product_frequency)
        (start, stop), (counted_start, counted_stop) = rows, self.rows
        if start < counted_start or stop < counted_stop:
            raise ValueError("Queries must be asked in time order.")
        np.add.at(self.counts, self._held(counted_stop, stop), 1.0)
        np.subtract.at(self.counts, self._held(counted_start, start), 1.0)
        self.rows = rows
        return _Usable(at, rows, self.counts)

    def _held(self, start: int, stop: int) -> IntArray:
        indptr = self.index.matrix.indptr
        held: IntArray = self.index.matrix.indices[indptr[start] : indptr[stop]]
        return held


def _rows_holding(
    index: SessionIndex, columns: IntArray, rows: tuple[int, int]
) -> tuple[IntArray, IntArray]:
    """The index rows in [rows) holding each of these products, read off their columns: for
    each (product, row) pair, the product's position in `columns` and the row."""
    by_product = index.sessions_of_product
    starts = by_product.indptr[columns]
    owner, at = slices(starts, by_product.indptr[columns + 1] - starts)
    holding = by_product.indices[at]
    kept = (holding >= rows[0]) & (holding < rows[1])
    return owner[kept], holding[kept]


def _held_by(index: SessionIndex, columns: IntArray, rows: tuple[int, int]) -> FloatArray:
    """How many of the index rows in [rows) hold each of these products (_frequency's counts
    of a few products, not counted over every row)."""
    owner, _ = _rows_holding(index, columns, rows)
    return np.bincount(owner, minlength=len(columns)).astype(np.float64)


class _ContentRows:
    """The stored content neighbours of some products, found by product: each query reads
    its few session products' rows, not every product's (the evaluation passes the whole
    catalog's, 2,000,000 rows at 100,000 products, for thousands of queries)."""

    def __init__(self, content: Neighbours) -> None:
        order = np.argsort(content.product, kind="stable")
        self._content = Neighbours(
            content.product[order],
            content.neighbour[order],
            content.score[order],
            content.co_occurrence[order],
        )

    def __call__(self, products: IntArray) -> Neighbours:
        content = self._content
        starts = np.searchsorted(content.product, products, side="left")
        stops = np.searchsorted(content.product, products, side="right")
        _, rows = slices(starts, stops - starts)
        return Neighbours(
            content.product[rows],
            content.neighbour[rows],
            content.score[rows],
            content.co_occurrence[rows],
        )


def _content(content: Neighbours, session: IntArray, candidate: IntArray) -> FloatArray:
    """(session products x candidates) content similarity, 0 where not among the stored
    neighbours."""
    values = np.zeros((len(session), len(candidate)))
    if len(content) == 0:
        return values
    rows = np.isin(content.product, session) & np.isin(content.neighbour, candidate)
    order = np.argsort(session, kind="stable")
    at_session, _ = positions(session[order], content.product[rows])
    order_candidate = np.argsort(candidate, kind="stable")
    at_candidate, _ = positions(candidate[order_candidate], content.neighbour[rows])
    # A product can be in the session once (position_weights keeps distinct products).
    values[order[at_session], order_candidate[at_candidate]] = content.score[rows]
    return values
