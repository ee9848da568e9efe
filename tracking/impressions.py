"""Recording impressions: every recommendation list shown, once, without the page or the API
answer waiting on the database.

`impression_record` serialises the impression into the Redis buffer (infrastructure.buffer);
`impressions_flush`, run every minute by the `tracking.flush_impressions` task, inserts what
the buffer holds in batches (a row per impression id: a batch inserted twice after a worker
died adds nothing). Without Redis the impression is inserted at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from infrastructure.buffer import buffer_drain, buffer_push
from tracking.models import Impression, new_impression_id
from tracking.services import visitor_ids_get_or_create

BUFFER = "impressions"


@dataclass(frozen=True)
class Shown:
    """One list shown to a visitor (None: to no visitor in particular)."""

    surface: str
    products: Sequence[int]
    visitor: str | None
    strategy: str = ""
    session_id: str = ""
    experiment: str = ""
    variant: str = ""
    impression_id: str = field(default_factory=new_impression_id)
    shown_at: datetime = field(default_factory=timezone.now)


def impression_record(shown: Shown) -> str:
    """Record the list as shown; returns its impression id (the `recommendation_id` its
    clicks carry back)."""
    # The fields as they are (asdict() would deep-copy every list first).
    payload = vars(shown) | {
        "products": [int(p) for p in shown.products],
        "shown_at": shown.shown_at.isoformat(),
    }
    buffer_push(BUFFER, [json.dumps(payload)], unbuffered=lambda: _impressions_insert([payload]))
    return shown.impression_id


def impressions_flush() -> int:
    """Write the buffered impressions to the database; returns how many were handled."""
    return buffer_drain(BUFFER, lambda chunk: _impressions_insert([json.loads(i) for i in chunk]))


def _impressions_insert(payloads: list[dict[str, Any]]) -> None:
    visitors = visitor_ids_get_or_create(
        external_ids=sorted({str(p["visitor"]) for p in payloads if p["visitor"]})
    )
    Impression.objects.bulk_create(
        [
            Impression(
                impression_id=p["impression_id"],
                shown_at=datetime.fromisoformat(p["shown_at"]),
                visitor_id=visitors[str(p["visitor"])] if p["visitor"] else None,
                session_id=p["session_id"],
                surface=p["surface"],
                strategy=p["strategy"],
                experiment=p["experiment"],
                variant=p["variant"],
                products=p["products"],
            )
            for p in payloads
        ],
        ignore_conflicts=True,
        batch_size=1_000,
    )
