"""What the tracking app tells the apps above it (it imports none of them).

Receivers live in the higher apps' `receivers.py`, connected in their AppConfig.ready().
"""

from __future__ import annotations

from django.dispatch import Signal

# Events of these visitors were stored or moved to them: sent once committed, with `visitors`
# (their external ids).
events_recorded = Signal()

# Events (and the products and visitors they name) were imported in bulk: sent once committed.
events_imported = Signal()

# The whole store is being emptied (seed_demo --flush): sent inside the transaction, before the
# events, visitors and catalog go, so a receiver deletes what it computed from them first.
store_flushing = Signal()
