"""A learned ranking of the products new to each returning buyer (the default list).

No single signal predicts what a returning customer buys next that they never bought before:
EASE on the whole history, EASE on the last 90 days, what goes with their last order, product
text, how new a product is and how many first-time buyers it is drawing lately all help, by
amounts that depend on each other. A gradient-boosted classifier (scikit-learn's
HistGradientBoostingClassifier) learns how to combine them from the store's own past:

- at weekly cut-offs before `now`, each visitor who purchased before the cut-off and in the
  `label_days` after it contributes their candidates (EASE's best and the month's most popular
  products, all new to them), described by features read only from the events before the
  cut-off, labelled 1 when they bought the product in those days;
- at `now` the same features rank each buyer's candidates; the best `k` are stored and served
  (recommend() takes them as the personalised tier of the visitors who have them).

The EASE weights are dense (products²), so the ranker reads and ranks the catalog's most visited
products, at most `RankerConfig.max_products`, whatever the catalog's size. Pure: arrays in,
arrays and a fitted model out.

`snapshot` holds what the events before one time say (the heavy work), `features` turns it
into each visitor's candidates as named feature columns, `model` learns and ranks.
"""

from recommender.algorithms.ranker.config import RankerConfig
from recommender.algorithms.ranker.features import FEATURES, Candidates
from recommender.algorithms.ranker.model import (
    RANKED_LIST_MARGIN,
    Ranker,
    fit_units,
    list_owners,
    rank_units,
    ranked_lists,
    ranker_fit,
    training_cutoffs,
)

__all__ = [
    "FEATURES",
    "RANKED_LIST_MARGIN",
    "Candidates",
    "Ranker",
    "RankerConfig",
    "fit_units",
    "list_owners",
    "rank_units",
    "ranked_lists",
    "ranker_fit",
    "training_cutoffs",
]
