"""What an event is worth, as plain numbers: the codes the algorithms store event types as, in
funnel order, and how much each kind counts (view 1, add to cart 3, purchase 5).

Plain Python with no Django and no NumPy, so the event model and the pure algorithms share one
definition without the model pulling in the algorithms.
"""

from __future__ import annotations

VIEW, ADD_TO_CART, PURCHASE = 0, 1, 2
# Indexed by code.
EVENT_TYPE_WEIGHT_BY_CODE: tuple[float, ...] = (1.0, 3.0, 5.0)
# Event times are Unix seconds.
SECONDS_PER_DAY = 86_400.0
