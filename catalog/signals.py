"""What the catalog tells the apps above it (it imports none of them).

Receivers live in the higher apps' `receivers.py`, connected in their AppConfig.ready().
"""

from __future__ import annotations

from django.dispatch import Signal

# Products were created or changed in bulk (an import), sent once the import has committed:
# every cached list may show them.
products_imported = Signal()

# What a shelf shows of some products changed by a bulk UPDATE, which sends no post_save (a
# checkout sold them out, a cancellation restocked them): sent with `product_ids` inside the
# writing transaction. Saving a Product or Category sends Django's post_save instead.
products_changed = Signal()

# An order was placed: sent inside the order's transaction with `order` (its lines saved) and
# `session_id`, so what a receiver writes commits or rolls back with the order.
order_placed = Signal()

# An order was cancelled: sent inside the cancelling transaction with `order`, so the
# tracking app reverses its purchases (revenue, orders and recommendations stop counting
# them) in the same commit as the restock.
order_cancelled = Signal()

# What some products say about themselves (name, description, category) is new or changed,
# sent with `product_ids` inside the writing transaction: what is computed from their texts
# (content neighbours) is stale for them.
products_described = Signal()
