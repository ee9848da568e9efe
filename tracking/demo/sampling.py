"""Vectorised draws the generator is built on."""

from __future__ import annotations

import numpy as np

from tracking.demo.data import FloatArray, IntArray


class GroupSampler:
    """Draws items from many groups at once, each group by its own weights.

    One cumulative key array (group g's keys lie in (g, g + 1]) answers a whole vector of draws
    with a single searchsorted, so millions of draws cost milliseconds.
    """

    def __init__(self, groups: IntArray, weights: FloatArray, group_count: int) -> None:
        order = np.argsort(groups, kind="stable")
        sorted_groups = groups[order]
        sorted_weights = weights[order]
        totals = np.bincount(sorted_groups, weights=sorted_weights, minlength=group_count)
        cumulative = np.cumsum(sorted_weights)
        starts = np.searchsorted(sorted_groups, np.arange(group_count), side="left")
        ends = np.searchsorted(sorted_groups, np.arange(group_count), side="right") - 1
        before = np.concatenate(([0.0], cumulative))[starts]
        within = (cumulative - before[sorted_groups]) / totals[sorted_groups]
        within[ends[totals > 0]] = 1.0  # exact group ends, whatever the rounding
        self._keys = sorted_groups + within
        self._order = order
        self.has_items = totals > 0

    def sample(self, groups: IntArray, rng: np.random.Generator) -> IntArray:
        uniform = 1.0 - rng.random(len(groups))  # in (0, 1], so a draw never leaves its group
        positions = np.searchsorted(self._keys, groups + uniform, side="left")
        return self._order[np.minimum(positions, len(self._order) - 1)]


def funnel_probabilities(
    event_mix: tuple[float, float, float], complement_share: float
) -> tuple[float, float]:
    """Cart rate a and checkout rate b that give event_mix, given the complement share c.

    Per viewed product: views 1 + abc, carts a + abc, purchases ab + abc (a complement
    brings a view, a cart and a purchase). Solving purchases/carts and carts/views for a, b.
    """
    view_share, cart_share, purchase_share = event_mix
    c = complement_share
    purchase_per_cart = purchase_share / cart_share
    b = purchase_per_cart / (1 + c - purchase_per_cart * c)
    cart_per_view = cart_share / view_share
    a = cart_per_view / (1 + b * c - cart_per_view * b * c)
    if not (0 < a <= 1 and 0 < b <= 1):
        raise ValueError(f"event_mix {event_mix} cannot be produced by the funnel model.")
    return a, b
