"""Buy it again: a visitor's own purchases, ranked by how often and how recently.

Each purchase of a product adds 0.5^(age / half-life) to its score, so three purchases last
month outrank one last week, and one last week outranks one last year. Retail customers
reorder (on the UCI Online Retail data about 45% of a returning customer's next-month products
are ones they bought before), which no item-to-item method predicts: it leaves those products
out, or ranks them like any other neighbour.
"""

from __future__ import annotations

import numpy as np

from recommender.algorithms.events import (
    PURCHASE,
    SECONDS_PER_DAY,
    EventArrays,
    IntArray,
    grouped,
    positions,
)
from recommender.algorithms.tiered import Ranked

# Chosen on the validation month of the UCI Online Retail data (docs/recommender.md).
DEFAULT_HALF_LIFE_DAYS = 180.0


def repeat_scores(
    events: EventArrays,
    visitor_ids: IntArray,
    *,
    now: float,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> Ranked:
    """Each visitor's purchased products scored by recency-weighted frequency, grouped by the
    visitor's position in visitor_ids (ascending ids), best first. Events at or after `now`
    and other event types are ignored."""
    position, known = positions(visitor_ids, events.visitor)
    wanted = known & (events.event_type == PURCHASE) & (events.timestamp < now)
    visitor, product = position[wanted], events.product[wanted]
    age_days = (now - events.timestamp[wanted]) / SECONDS_PER_DAY
    decayed = np.power(0.5, age_days / half_life_days)
    pairs = grouped(visitor, product)
    return Ranked.of(pairs.keys(product), pairs.sum(decayed), group=pairs.keys(visitor))
