"""Event arrays for the algorithm tests, and a synthetic store whose past teaches a ranker
something: what follows a purchase."""

import numpy as np

from recommender.algorithms.events import PURCHASE, SECONDS_PER_DAY, EventArrays

NOW = 400 * SECONDS_PER_DAY


def events(*rows: tuple[int, int, int, float]) -> EventArrays:
    """Rows of (visitor, product, event type, timestamp) as event arrays."""
    visitor, product, kind, timestamp = zip(*rows, strict=True)
    return EventArrays(
        visitor=np.array(visitor, dtype=np.int64),
        product=np.array(product, dtype=np.int64),
        event_type=np.array(kind, dtype=np.int8),
        timestamp=np.array(timestamp, dtype=np.float64),
    )


PRODUCTS = 30
STARTER, FOLLOW_UP = 2, 3


def store(seed: int = 0, visitors: int = 240, days: int = 200) -> EventArrays:
    """A store's purchases: everybody buys staples (products 10-29) now and then; a visitor
    who buys the starter kit (product 2) buys its follow-up (product 3) 5 to 15 days later,
    once."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, float]] = []
    for visitor in range(1, visitors + 1):
        for day in np.sort(rng.uniform(0, days, size=6)):
            for product in rng.choice(np.arange(10, PRODUCTS), size=3, replace=False):
                rows.append((visitor, int(product), PURCHASE, float(day)))
        if visitor % 3 == 0:
            started = float(rng.uniform(0, days - 20))
            rows.append((visitor, STARTER, PURCHASE, started))
            rows.append((visitor, FOLLOW_UP, PURCHASE, started + rng.uniform(5, 15)))
    columns = list(zip(*rows, strict=True))
    return EventArrays(
        visitor=np.array(columns[0], dtype=np.int64),
        product=np.array(columns[1], dtype=np.int64),
        event_type=np.array(columns[2], dtype=np.int8),
        timestamp=NOW - (days - np.array(columns[3])) * SECONDS_PER_DAY,
    )
