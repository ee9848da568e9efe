"""A fresh web process, filled before its first request with what its first lists need.

A list computed on a cache miss reads each history product's neighbour list and each
candidate's card from the process's own copies (infrastructure.cache, `local` and
`kept_many`), fetching only those it does not hold yet. A new worker (a deploy, a recycled
worker) holds none: on the bench store its first 150 misses made 131 extra round trips to
Redis for neighbour lists, the next 150 made 67, and the copies were complete only after
about 500 (docs/benchmarks.md). Each such round trip is a shopper waiting on a busy host.
"""

from __future__ import annotations

import logging

import numpy as np
from django.db import DatabaseError

from catalog.selectors import product_cards_available
from infrastructure import cache
from recommender.serving.inputs import served_neighbours, trending_fills

logger = logging.getLogger(__name__)

# The most popular products whose neighbour lists a process holds from the start (each list
# a few hundred bytes; the process keeps at most infrastructure.cache.LOCAL_ENTRIES).
WARM_PRODUCTS = 5_000


def process_warmed(limit: int = WARM_PRODUCTS) -> int:
    """Keep in this process the neighbour lists of the `limit` products trending most (the
    recommendations' fills, best first) and the cards of those products and their
    neighbours, under the current generations; how many products. Nothing is kept when the
    database cannot be read: the process then fills its copies as it serves."""
    try:
        with cache.generations_held(cache.TRENDING, cache.SIMILARITY):
            fills = trending_fills().product
            _, first = np.unique(fills, return_index=True)
            products = fills[np.sort(first)][:limit]
            neighbours, _ = served_neighbours(products)
            product_cards_available(np.union1d(products, neighbours.neighbour).tolist())
    except DatabaseError as error:
        logger.warning("The process starts without its copies: %s", error)
        return 0
    return len(products)
