"""The ranker's parameters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RankerConfig:
    # The products the ranker reads and ranks: those with the most distinct visitors before
    # each snapshot's time, at most this many. EASE, its recent twin and the transition model
    # are dense (products x products), so this bounds the snapshot's memory (three float32
    # matrices of 4,000 x 4,000 are 192 MB) and its solves at any catalog size; a store's
    # first purchases come from its most visited products (docs/recommender.md, "The
    # ranker's products").
    max_products: int = 4_000
    # EASE penalties: the whole history, and the recent days (the served similarity's).
    l2: float = 800.0
    recent_l2: float = 200.0
    recent_days: float = 90.0
    # A cut-off's label: first purchases in the following label_days.
    label_days: float = 30.0
    # Training cut-offs, every step_days back from now - label_days, each with at least
    # min_history_days of events before it.
    step_days: float = 7.0
    max_cutoffs: int = 30
    min_history_days: float = 30.0
    # Buyers sampled per training cut-off (fixed seed), to bound training on large stores.
    max_visitors_per_cutoff: int = 1_000
    # Candidates: EASE's best, and the most popular products of the last 30 days.
    ease_candidates: int = 200
    popular_candidates: int = 100
    # Candidates from the visitors most alike (cosine over all their products), scored by what
    # those visitors interacted with in the last similar_visitors_days; and from the
    # transition model (what visitors with such a history bought next, new to them).
    similar_visitors: int = 50
    similar_visitors_days: float = 60.0
    similar_visitor_candidates: int = 50
    transition_l2: float = 200.0
    transition_step_days: float = 15.0
    transition_candidates: int = 50
    # Negative rows (candidates not bought) kept for the fit per cut-off, a random sample
    # weighted by the inverse of its share so the fitted chances stay those of all rows:
    # about 2% of rows are positive, and the fit's cost grows with the rows
    # (docs/recommender.md, "Learning cost").
    negatives_per_cutoff: int = 20_000
    # ... and at most this many per positive (None: no such bound). A small store's cut-off
    # has few positives among many candidates (1% on the demo store), and its fit grew with
    # negatives that hardly change the ranking. Chosen on August 2011 (docs/recommender.md,
    # "Learning cost"): 5 scored as well as keeping 20,000 and better than 2.
    negatives_per_positive: float | None = 5.0
    # Visitors whose features are computed at once when ranking (memory: visitors x products).
    visitors_per_chunk: int = 1_000
    # The classifier, chosen on the validation month of UCI Online Retail (docs/recommender.md).
    iterations: int = 400
    learning_rate: float = 0.03
    max_leaf_nodes: int = 15
    l2_regularization: float = 1.0


# The parameters chosen on the validation month (docs/recommender.md).
DEFAULT_CONFIG = RankerConfig()
