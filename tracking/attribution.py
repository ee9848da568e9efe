"""What recommendations led to: each impression's clicks, and the add-to-carts and purchases
attributed to it.

A click is an event carrying the impression's `recommendation_id` in its metadata (a product
view from a shelf's link, an add-to-cart from the "bought together" form, or an API client's
event sent back with the answer's id). An add-to-cart or a purchase of the clicked product by
the same visitor within ATTRIBUTION_WINDOW after a click is attributed to that click's
impression; of several clicks, the last before it wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
from django.db.models import Q

from tracking.models import RECOMMENDATION_ID, Event, EventType, Impression

ATTRIBUTION_WINDOW = timedelta(hours=24)
IMPRESSION_COLUMNS = ["impression_id", "surface", "experiment", "variant", "visitor_id", "shown_at"]


def impression_outcomes(
    *, start: datetime, end: datetime, impressions: Q | None = None
) -> pd.DataFrame:
    """One row per impression shown in [start, end) (of those matching `impressions`): its
    columns (IMPRESSION_COLUMNS) and clicks, add_to_carts, orders and revenue attributed to
    it, counting what happened up to ATTRIBUTION_WINDOW after `end`."""
    rows = Impression.objects.filter(shown_at__gte=start, shown_at__lt=end)
    if impressions is not None:
        rows = rows.filter(impressions)
    shown = pd.DataFrame.from_records(
        list(rows.values_list(*IMPRESSION_COLUMNS)), columns=IMPRESSION_COLUMNS
    )
    counts = ["clicks", "add_to_carts", "orders"]
    if shown.empty:
        return shown.assign(**{c: pd.Series(dtype="int64") for c in counts}, revenue=0.0)
    until = end + ATTRIBUTION_WINDOW
    touches = _frame(
        Event.objects.filter(
            occurred_at__gte=start, occurred_at__lt=until, metadata__has_key=RECOMMENDATION_ID
        ),
        extra=[f"metadata__{RECOMMENDATION_ID}"],
    ).rename(columns={f"metadata__{RECOMMENDATION_ID}": "impression_id"})
    touches = touches[touches["impression_id"].isin(shown["impression_id"])]
    clicks = touches.groupby("impression_id").size().rename("clicks")
    outcomes = _frame(
        Event.objects.filter(
            occurred_at__gte=start,
            occurred_at__lt=until,
            event_type__in=[EventType.ADD_TO_CART, EventType.PURCHASE],
            visitor_id__in=touches["visitor_id"].unique().tolist(),
        ),
        extra=["order_ref", "revenue"],
    )
    attributed = _last_touch(outcomes, touches)
    carts = attributed[attributed["event_type"] == EventType.ADD_TO_CART]
    sales = attributed[attributed["event_type"] == EventType.PURCHASE]
    per_impression = pd.concat(
        [
            clicks,
            carts.groupby("impression_id").size().rename("add_to_carts"),
            # An order (or an imported invoice) counts once however many of its lines it holds.
            sales.groupby("impression_id")["order"].nunique().rename("orders"),
            sales.groupby("impression_id")["revenue"].sum().rename("revenue"),
        ],
        axis=1,
    )
    joined = shown.join(per_impression, on="impression_id")
    joined[counts] = joined[counts].fillna(0).astype("int64")
    joined["revenue"] = joined["revenue"].fillna(0.0).astype("float64")
    return joined


def _frame(events: object, *, extra: list[str]) -> pd.DataFrame:
    columns = ["id", "visitor_id", "product_id", "event_type", "occurred_at", *extra]
    return pd.DataFrame.from_records(
        list(events.values_list(*columns)),  # type: ignore[attr-defined]
        columns=columns,
    )


def _last_touch(outcomes: pd.DataFrame, touches: pd.DataFrame) -> pd.DataFrame:
    """Each outcome with the impression of the visitor's last click on its product within
    the window before it (outcomes with none are dropped)."""
    if outcomes.empty or touches.empty:
        return outcomes.assign(impression_id=pd.Series(dtype=object), order=pd.Series(dtype=object))
    left = outcomes.sort_values("occurred_at")
    right = touches[["visitor_id", "product_id", "occurred_at", "impression_id"]].sort_values(
        "occurred_at"
    )
    merged = pd.merge_asof(
        left,
        right,
        on="occurred_at",
        by=["visitor_id", "product_id"],
        tolerance=pd.Timedelta(ATTRIBUTION_WINDOW),
        direction="backward",
    )
    merged = merged[merged["impression_id"].notna()].copy()
    merged["revenue"] = merged["revenue"].map(lambda v: float(v or Decimal(0)))
    # A purchase without an order reference is its own order.
    merged["order"] = merged["order_ref"].where(
        merged["order_ref"] != "", "event-" + merged["id"].astype(str)
    )
    return merged


@dataclass(frozen=True)
class ShelfFigures:
    surface: str
    impressions: int
    clicks: int
    add_to_carts: int
    orders: int
    revenue: float

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def conversion(self) -> float:
        """Orders per click."""
        return self.orders / self.clicks if self.clicks else 0.0


def shelf_figures(*, start: datetime, end: datetime) -> list[ShelfFigures]:
    """Per surface (a page's shelf, an API endpoint): impressions, clicks, CTR, attributed
    add-to-carts, orders and revenue, most impressions first."""
    outcomes = impression_outcomes(start=start, end=end)
    if outcomes.empty:
        return []
    grouped = outcomes.groupby("surface").agg(
        impressions=("impression_id", "size"),
        clicks=("clicks", "sum"),
        add_to_carts=("add_to_carts", "sum"),
        orders=("orders", "sum"),
        revenue=("revenue", "sum"),
    )
    grouped = grouped.sort_values(["impressions", "clicks"], ascending=False)
    return [
        ShelfFigures(
            str(surface),
            int(r.impressions),
            int(r.clicks),
            int(r.add_to_carts),
            int(r.orders),
            round(float(r.revenue), 2),
        )
        for surface, r in grouped.iterrows()
    ]
