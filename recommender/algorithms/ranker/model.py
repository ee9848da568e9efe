"""Learning the ranker from the store's past, and ranking each buyer's candidates with it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from recommender.algorithms.events import (
    PURCHASE,
    SECONDS_PER_DAY,
    EventArrays,
    IntArray,
    pair_key,
    positions,
    rank_within,
)
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.progress import Progress
from recommender.algorithms.ranker.config import DEFAULT_CONFIG, RankerConfig
from recommender.algorithms.ranker.features import Candidates, candidates
from recommender.algorithms.ranker.snapshot import snapshot_at
from recommender.algorithms.tiered import Catalog, Ranked

# Lists are stored this much longer than asked for: products bought or sold out after they
# were ranked are left out when served.
RANKED_LIST_MARGIN = 50


@dataclass(frozen=True)
class Ranker:
    """A fitted ranker and what it was fitted on."""

    model: HistGradientBoostingClassifier
    config: RankerConfig
    cutoffs: int
    rows: int
    positives: int


def training_cutoffs(events: EventArrays, *, now: float, config: RankerConfig) -> list[float]:
    """The training cut-offs, newest first: weekly before now - label_days, each with at
    least min_history_days of events before it."""
    if len(events) == 0:
        return []
    earliest = float(events.timestamp.min()) + config.min_history_days * SECONDS_PER_DAY
    newest = now - config.label_days * SECONDS_PER_DAY
    cutoffs = [newest - n * config.step_days * SECONDS_PER_DAY for n in range(config.max_cutoffs)]
    return [cutoff for cutoff in cutoffs if cutoff >= earliest]


def ranker_fit(
    events: EventArrays,
    catalog: Catalog,
    content: Neighbours,
    *,
    now: float,
    config: RankerConfig = DEFAULT_CONFIG,
    progress: Progress | None = None,
) -> Ranker | None:
    """The ranker learnt from the events before `now`; None when no cut-off has a labelled
    first purchase to learn from (a new store)."""
    events = events.select(events.timestamp < now)
    cutoffs = training_cutoffs(events, now=now, config=config)
    features, labels = [], []
    if progress:
        progress(0, len(cutoffs), phase="learning from weekly cut-offs")
    for done, cutoff in enumerate(cutoffs, start=1):
        buyers = _labelled_buyers(events, cutoff, config)
        if len(buyers):
            past = events.select(events.timestamp < cutoff)
            snapshot = snapshot_at(past, catalog, content, now=cutoff, config=config)
            found = candidates(snapshot, buyers)
            features.append(found.features)
            labels.append(_first_purchases_after(events, cutoff, config, buyers, found))
        if progress:
            progress(done, len(cutoffs))
    label = np.concatenate(labels) if labels else np.empty(0, dtype=np.int8)
    if len(np.unique(label)) < 2:
        return None
    model = HistGradientBoostingClassifier(
        max_iter=config.iterations,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        l2_regularization=config.l2_regularization,
        early_stopping=False,
        random_state=0,
    )
    if progress:
        progress(len(cutoffs), len(cutoffs), phase=f"fitting the model on {len(label):,} rows")
    model.fit(np.concatenate(features), label)
    return Ranker(
        model=model,
        config=config,
        cutoffs=len(labels),
        rows=len(label),
        positives=int(label.sum()),
    )


def ranked_lists(
    ranker: Ranker,
    events: EventArrays,
    catalog: Catalog,
    content: Neighbours,
    *,
    now: float,
    visitor_ids: IntArray,
    k: int,
    progress: Progress | None = None,
) -> Ranked:
    """Each visitor's k best candidates by the ranker, grouped by the visitor's position in
    visitor_ids (ascending ids), best first; the score is the predicted chance of a purchase."""
    snapshot = snapshot_at(
        events.select(events.timestamp < now), catalog, content, now, ranker.config
    )
    parts = []
    chunks = list(_chunks(len(visitor_ids), ranker.config.visitors_per_chunk))
    if progress:
        progress(0, len(chunks), phase="ranking every buyer")  # the snapshot is read
    for done, (start, stop) in enumerate(chunks, start=1):
        found = candidates(snapshot, visitor_ids[start:stop])
        score = (
            ranker.model.predict_proba(found.features)[:, 1] if len(found.visitor) else np.empty(0)
        )
        ranked = Ranked.of(found.product, score, group=found.visitor + start)
        parts.append(_top(ranked, k))
        if progress:
            progress(done, len(chunks))
    return Ranked.concatenate(parts)


def _top(ranked: Ranked, k: int) -> Ranked:
    keep = rank_within(ranked.group) < k
    return Ranked(group=ranked.group[keep], product=ranked.product[keep], score=ranked.score[keep])


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


def _labelled_buyers(events: EventArrays, cutoff: float, config: RankerConfig) -> IntArray:
    """Visitors who purchased before the cut-off and in the label days after it (a sample of
    max_visitors_per_cutoff of them, fixed seed)."""
    purchase = events.event_type == PURCHASE
    before = np.unique(events.visitor[purchase & (events.timestamp < cutoff)])
    after = np.unique(
        events.visitor[
            purchase
            & (events.timestamp >= cutoff)
            & (events.timestamp < cutoff + config.label_days * SECONDS_PER_DAY)
        ]
    )
    buyers = np.intersect1d(before, after)
    if len(buyers) > config.max_visitors_per_cutoff:
        rng = np.random.default_rng(0)
        buyers = np.sort(rng.choice(buyers, config.max_visitors_per_cutoff, replace=False))
    return buyers


def _first_purchases_after(
    events: EventArrays,
    cutoff: float,
    config: RankerConfig,
    buyers: IntArray,
    candidates: Candidates,
) -> np.ndarray:
    """1 for each candidate its visitor purchased in the label days after the cut-off."""
    wanted = (
        (events.event_type == PURCHASE)
        & (events.timestamp >= cutoff)
        & (events.timestamp < cutoff + config.label_days * SECONDS_PER_DAY)
    )
    position, known = positions(buyers, events.visitor[wanted])
    bought = pair_key(position[known], events.product[wanted][known])
    return np.isin(pair_key(candidates.visitor, candidates.product), bought).astype(np.int8)
