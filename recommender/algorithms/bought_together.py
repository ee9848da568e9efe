"""Frequently bought together: products that end up in the same baskets.

A basket is one visitor's purchases on one (UTC) day: an order placed in the store, an
imported invoice (each has its own customer or anonymous visitor). The baskets x products
matrix holds 1 where a basket holds a product, and goes through item similarity's blocked
cosine: a pair's score is the cosine of the two products' basket vectors (how much their
baskets overlap, whatever their popularity), its co_occurrence the number of baskets with both.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.algorithms.events import PURCHASE, SECONDS_PER_DAY, EventArrays, pair_key
from recommender.algorithms.item_similarity import InteractionMatrix

DEFAULT_TOP_K = 20
# A pair seen in one basket only is chance, not a habit.
DEFAULT_MIN_BASKETS = 2


def basket_matrix(events: EventArrays) -> InteractionMatrix:
    """The baskets x products 0/1 matrix of the purchases among the events; its row ids are
    basket keys (visitor and day)."""
    purchases = events.select(events.event_type == PURCHASE)
    day = (purchases.timestamp // SECONDS_PER_DAY).astype(np.int64)
    basket_ids, basket_index = np.unique(pair_key(purchases.visitor, day), return_inverse=True)
    product_ids, product_index = np.unique(purchases.product, return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(len(purchases)), (basket_index, product_index)),
        shape=(len(basket_ids), len(product_ids)),
        dtype=np.float64,
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # a product bought twice in one basket is still one basket
    return InteractionMatrix(matrix=matrix, visitor_ids=basket_ids, product_ids=product_ids)
