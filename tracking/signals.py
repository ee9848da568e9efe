"""What the tracking app tells the apps above it (it imports none of them).

Receivers live in the higher apps' `receivers.py`, connected in their AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal


@dataclass(frozen=True)
class StoredEvents:
    """New events as stored, column by column: each one's visitor (external id), primary key,
    product, type and time."""

    visitor: Sequence[str]
    pk: Sequence[int]
    product_id: Sequence[int]
    event_type: Sequence[str]
    occurred_at: Sequence[datetime]


NO_EVENTS = StoredEvents((), (), (), (), ())


# Events of these visitors were stored, moved to them or deleted: sent once committed, with
# `visitors` (their external ids) and `events`, the new events stored (StoredEvents; none when
# events were moved or deleted).
events_recorded = Signal()

# Events (and the products and visitors they name) were imported in bulk: sent once committed.
events_imported = Signal()

# The whole store is being emptied (seed_demo --flush): sent inside the transaction, before the
# events, visitors and catalog go, so a receiver deletes what it computed from them first.
store_flushing = Signal()
