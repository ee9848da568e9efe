"""What the catalog tells the apps above it (it imports none of them).

Receivers live in the higher apps' `receivers.py`, connected in their AppConfig.ready().
"""

from __future__ import annotations

from django.dispatch import Signal

# Products were created or changed in bulk (an import), sent once the import has committed:
# every cached list may show them.
products_imported = Signal()

# An order was placed: sent inside the order's transaction with `order` (its lines saved) and
# `session_id`, so what a receiver writes commits or rolls back with the order.
order_placed = Signal()
