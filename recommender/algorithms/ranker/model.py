"""Learning the ranker from the store's past, and ranking each buyer's candidates with it."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from recommender.algorithms import pickled
from recommender.algorithms.binning import Bins
from recommender.algorithms.boosted_trees import CompiledTrees, compiled
from recommender.algorithms.events import (
    PURCHASE,
    SECONDS_PER_DAY,
    EventArrays,
    FloatArray,
    IntArray,
    pair_key,
    positions,
    rank_within,
)
from recommender.algorithms.item_similarity import Neighbours
from recommender.algorithms.progress import Progress, progress_offset
from recommender.algorithms.ranker.config import DEFAULT_CONFIG, RankerConfig
from recommender.algorithms.ranker.features import Candidates, candidates
from recommender.algorithms.ranker.snapshot import snapshot_at
from recommender.algorithms.threads import BLOCK_THREADS, in_order
from recommender.algorithms.tiered import Catalog, Ranked

# Lists are stored this much longer than asked for: products bought or sold out after they
# were ranked are left out when served.
RANKED_LIST_MARGIN = 50


@dataclass(frozen=True)
class Ranker:
    """A fitted ranker and what it was fitted on."""

    model: HistGradientBoostingClassifier
    # The model reads bin numbers, not the features themselves (binning.py).
    bins: Bins
    config: RankerConfig
    cutoffs: int
    # Candidate rows at the cut-offs, the rows the fit kept (negatives sampled), positives.
    candidates: int
    rows: int
    positives: int

    def chances(self, features: FloatArray) -> FloatArray:
        """Each candidate row's predicted chance of a purchase: the model's predict_proba,
        computed by its compiled trees (boosted_trees.py) on the calling thread. Ranking
        calls it from a thread per chunk of buyers, and scikit-learn's own OpenMP threads
        there would compete with the other chunk's for the same cores."""
        if not len(features):
            return np.empty(0)
        return self._trees.probability(features)

    @functools.cached_property
    def _trees(self) -> CompiledTrees:
        """Compiled once per process that ranks with the model, never stored with it; with
        each split's threshold on the feature's values rather than its bin numbers
        (Bins.value_thresholds), so that no row is binned first (at 100x, binning a chunk
        of buyers' candidates took a fifth of scoring them)."""
        trees = compiled(self.model)
        return replace(
            trees,
            thresholds=tuple(
                self.bins.value_thresholds(column, thresholds)
                for column, thresholds in zip(
                    trees.features.tolist(), trees.thresholds, strict=True
                )
            ),
        )

    def __getstate__(self) -> dict[str, object]:
        return {name: value for name, value in vars(self).items() if name != "_trees"}

    def to_bytes(self) -> bytes:
        """For a distributed run's block tasks (recommender.pipelines.ranking_distributed)."""
        return pickled.to_bytes(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> Ranker:
        return pickled.from_bytes(data, cls)


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
    first purchase to learn from (a new store). Reports progress in fit_units() units: one
    per training cut-off, then FIT_UNITS for the fit."""
    events = events.select(events.timestamp < now)
    cutoffs = training_cutoffs(events, now=now, config=config)
    total = fit_units(len(cutoffs))
    if progress:
        progress(0, total, phase="learning from weekly cut-offs")

    def examples(numbered: tuple[int, float]) -> _Examples | None:
        return _cutoff_examples(events, catalog, content, numbered[1], config, seed=numbered[0])

    # Two cut-offs at a time: much of a snapshot (sparse products, sorting) runs on one core.
    # Each cut-off's examples are its own (and seeded by its position), so the threads change
    # no figure.
    found: list[_Examples] = []
    for done, result in enumerate(in_order(examples, enumerate(cutoffs, start=1)), start=1):
        if result is not None:
            found.append(result)
        if progress:
            progress(done, total)
    label = np.concatenate([f.label for f in found]) if found else np.empty(0, dtype=np.int8)
    if len(np.unique(label)) < 2:
        return None
    if progress:
        progress(len(cutoffs), total, phase=f"fitting the model on {len(label):,} rows")
    trees = _TreesGrown(config.iterations, progress_offset(progress, len(cutoffs), total))
    model = HistGradientBoostingClassifier(
        max_iter=config.iterations,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        l2_regularization=config.l2_regularization,
        # Not to stop early (it never does: more trees than iterations must show no gain) but
        # to have the scorer called after every tree, on the training rows (no rows held out),
        # which is how the fit reports its progress: scikit-learn has no fit callback.
        early_stopping=True,
        validation_fraction=None,
        n_iter_no_change=config.iterations + 1,
        scoring=trees,
        random_state=0,
    )
    features = np.concatenate([f.features for f in found])
    weight = np.concatenate([f.weight for f in found])
    bins = Bins.of(features, weight)
    model.fit(bins.numbered(features), label, sample_weight=weight)
    model.set_params(scoring="loss")  # the fitted model keeps no reference to the progress bar
    return Ranker(
        model=model,
        bins=bins,
        config=config,
        cutoffs=len(found),
        candidates=sum(f.candidates for f in found),
        rows=len(label),
        positives=int(label.sum()),
    )


# The progress units of the fit.
FIT_UNITS = 20


def fit_units(cutoffs: int) -> int:
    """How many progress units ranker_fit reports over, with this many cut-offs."""
    return cutoffs + FIT_UNITS


@dataclass(frozen=True)
class _Examples:
    features: FloatArray
    label: np.ndarray
    weight: FloatArray
    candidates: int


def _cutoff_examples(
    events: EventArrays,
    catalog: Catalog,
    content: Neighbours,
    cutoff: float,
    config: RankerConfig,
    *,
    seed: int,
) -> _Examples | None:
    """One cut-off's training rows (negatives sampled) and their weights; None when no buyer
    there bought again in the label days."""
    buyers = _labelled_buyers(events, cutoff, config)
    if not len(buyers):
        return None
    past = events.select(events.timestamp < cutoff)
    snapshot = snapshot_at(past, catalog, content, now=cutoff, config=config)
    found = candidates(snapshot, buyers)
    label = _first_purchases_after(events, cutoff, config, buyers, found)
    keep, weight = _negatives_sampled(label, config, seed=seed)
    return _Examples(found.features[keep], label[keep], weight, len(label))


class _TreesGrown:
    """A scorer that scores nothing: it counts the trees grown (scikit-learn calls it once
    before the first and after each) and reports them in FIT_UNITS units."""

    def __init__(self, trees: int, progress: Progress | None) -> None:
        self.trees, self.progress, self.calls = trees, progress, 0

    def __call__(
        self, _estimator: object, _features: object, _labels: object, **_: object
    ) -> float:
        grown, self.calls = self.calls, self.calls + 1
        if self.progress and grown:
            before = (grown - 1) * FIT_UNITS // self.trees
            if grown * FIT_UNITS // self.trees > before:
                self.progress(grown * FIT_UNITS // self.trees, FIT_UNITS)
        return 0.0


def _negatives_sampled(
    label: np.ndarray, config: RankerConfig, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of a cut-off the fit keeps (every positive; of the negatives a fixed-seed
    sample of about negatives_per_cutoff, and at most negatives_per_positive per positive)
    and their sample weights (the inverse of the negatives' share kept, so the fitted chances
    stay those of all the rows)."""
    most = config.negatives_per_cutoff
    if config.negatives_per_positive is not None:
        most = min(most, max(1, round(config.negatives_per_positive * int(label.sum()))))
    share = min(1.0, most / max(int((label == 0).sum()), 1))
    if share >= 1.0:
        return np.ones(len(label), dtype=bool), np.ones(len(label))
    keep = (label == 1) | (np.random.default_rng(seed).random(len(label)) < share)
    return keep, np.where(label[keep] == 1, 1.0, 1.0 / share)


def list_owners(events: EventArrays) -> IntArray:
    """The visitors a learned list is ranked for: every one with a purchase among the events
    (ascending). Others have nothing the ranker learnt from, and get the item-to-item list."""
    owners: IntArray = np.unique(events.visitor[events.event_type == PURCHASE])
    return owners


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
    visitor_ids (ascending ids), best first; the score is the predicted chance of a purchase.
    Reports progress in rank_units() units: the snapshot, then one per chunk of visitors."""
    chunks = list(_chunks(len(visitor_ids), ranker.config.visitors_per_chunk))
    total = len(chunks) + 1
    if progress:
        progress(0, total, phase="ranking every buyer")
    snapshot = snapshot_at(
        events.select(events.timestamp < now), catalog, content, now, ranker.config
    )
    if progress:
        progress(1, total)

    def ranked_chunk(chunk: tuple[int, int]) -> Ranked:
        start, stop = chunk
        found = candidates(snapshot, visitor_ids[start:stop])
        score = ranker.chances(found.features)
        return _top(Ranked.of(found.product, score, group=found.visitor + start), k)

    parts = []
    # Two chunks at a time, as the training cut-offs.
    for done, part in enumerate(in_order(ranked_chunk, chunks), start=2):
        parts.append(part)
        if progress:
            progress(done, total)
    return Ranked.concatenate(parts)


def rank_units(visitors: int, config: RankerConfig = DEFAULT_CONFIG) -> int:
    """How many progress units ranked_lists reports over, for this many visitors."""
    return len(list(_chunks(visitors, config.visitors_per_chunk))) + 1


def _top(ranked: Ranked, k: int) -> Ranked:
    keep = rank_within(ranked.group) < k
    return Ranked(group=ranked.group[keep], product=ranked.product[keep], score=ranked.score[keep])


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    """Chunks of at most `size` visitors, and at least one per thread: a small store's few
    hundred buyers are ranked on both cores too (each visitor's list is its own)."""
    size = max(1, min(size, -(-total // BLOCK_THREADS)))
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
