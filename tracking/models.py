from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from tracking.vocabulary import ADD_TO_CART, EVENT_TYPE_WEIGHT_BY_CODE, PURCHASE, VIEW


def new_event_id() -> str:
    return uuid.uuid4().hex


def new_visitor_id() -> str:
    """A browser's random visitor id (the first-party cookie's value)."""
    return secrets.token_hex(16)


class Visitor(models.Model):
    # The anonymous first-party cookie id, or a customer id imported from another system.
    external_id = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visitors",
    )
    is_anonymous = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user"], name="visitor_user_idx")]
        constraints = [
            models.UniqueConstraint(fields=["external_id"], name="visitor_unique_external_id"),
        ]

    def __str__(self) -> str:
        return self.external_id


def visitor_id_subquery(visitor: str) -> models.Subquery:
    """The id of the visitor with this external id, as a scalar subquery: filtering a large
    table by it (rather than joining the visitor) lets PostgreSQL walk a (visitor, ...) index
    in order and stop at a limit."""
    return models.Subquery(Visitor.objects.filter(external_id=visitor).order_by().values("id")[:1])


class EventType(models.TextChoices):
    VIEW = "view", "View"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    PURCHASE = "purchase", "Purchase"


class EventSource(models.TextChoices):
    STOREFRONT = "storefront", "Storefront"
    API = "api", "API"
    IMPORT = "import", "Import"
    DEMO = "demo", "Demo data"


# The metadata key naming the impression (tracking.Impression) an event came from: a click on
# a shelf, or an API client's event sent back with the answer's recommendation_id.
RECOMMENDATION_ID = "recommendation_id"
# A product view that came from a click on a recommendation: the storefront puts the shelf's
# widget in the view's metadata as `rec` (its strategy as `strategy`, its impression as
# RECOMMENDATION_ID); an API client sends the answer's recommendation_id back.
RECOMMENDATION_CLICK = Q(event_type=EventType.VIEW) & (
    Q(metadata__has_key="rec") | Q(metadata__has_key=RECOMMENDATION_ID)
)


class EventQuerySet(models.QuerySet["Event"]):
    def latest_of(self, visitor: str) -> EventQuerySet:
        """The events of the visitor with this external id, newest first.

        The visitor is looked up in a scalar subquery rather than a join, so PostgreSQL walks
        event_visitor_recent_idx in order and stops at the caller's limit; with a join it plans
        for an average visitor and sorts every event of a heavy one.
        """
        return self.filter(visitor_id=visitor_id_subquery(visitor)).order_by("-occurred_at", "-id")

    def recommendation_clicks(self) -> EventQuerySet:
        return self.filter(RECOMMENDATION_CLICK)


class Event(models.Model):
    Type = EventType
    Source = EventSource

    # Idempotency key: a client retrying a write sends the same id, and the unique constraint
    # makes the retry a no-op instead of a duplicate.
    event_id = models.CharField(max_length=64, default=new_event_id)
    # The composite indexes below lead with these columns, so single-column ones would only
    # slow down inserts.
    visitor = models.ForeignKey(
        Visitor, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="events", db_index=False
    )
    event_type = models.CharField(max_length=16, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    session_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=16, choices=EventSource.choices, default=EventSource.API)
    metadata = models.JSONField(default=dict, blank=True)
    # What a purchase sold (tracking.sales): the store's revenue and orders are counted from
    # these columns, whichever way the sale arrived. NULL revenue: the amount is unknown.
    quantity = models.PositiveIntegerField(default=1, db_default=1)
    revenue = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    order_ref = models.CharField(max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # The visitor's latest events in the served order (occurred_at, then id), so the
            # history a recommendation reads is an index range that stops at its limit.
            models.Index(
                fields=["visitor", "-occurred_at", "-id"], name="event_visitor_recent_idx"
            ),
            # The same for purchases alone (buy-again reads hundreds of a regular's).
            models.Index(
                fields=["visitor", "-occurred_at", "-id"],
                condition=Q(event_type=EventType.PURCHASE),
                name="event_visitor_purchases_idx",
            ),
            models.Index(fields=["product", "-occurred_at"], name="event_product_time_idx"),
            models.Index(fields=["occurred_at"], name="event_time_idx"),
            models.Index(fields=["event_type", "occurred_at"], name="event_type_time_idx"),
        ]
        permissions = [
            # An API client (a token, or a staff session) naming the visitor it acts for.
            ("act_for_visitors", "Can read and write any visitor's data through the API"),
        ]
        constraints = [
            # A constraint, not unique=True: that would add a LIKE index on PostgreSQL too.
            models.UniqueConstraint(fields=["event_id"], name="event_unique_event_id"),
            models.CheckConstraint(
                condition=Q(event_type__in=EventType.values),
                name="event_type_known",
            ),
            models.CheckConstraint(
                condition=Q(source__in=EventSource.values),
                name="event_source_known",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="event_quantity_positive"),
            models.CheckConstraint(
                condition=Q(revenue__isnull=True) | Q(revenue__gte=0),
                name="event_revenue_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} of {self.product_id} by {self.visitor_id}"

    @property
    def weight(self) -> int:
        return EVENT_WEIGHTS[EventType(self.event_type)]


# The array codes the pure algorithms use for each event type, and each type's weight (how
# strongly it says "this visitor wants this product"). The algorithms own the numbers.
EVENT_TYPE_CODES: dict[EventType, int] = {
    EventType.VIEW: VIEW,
    EventType.ADD_TO_CART: ADD_TO_CART,
    EventType.PURCHASE: PURCHASE,
}
EVENT_WEIGHTS: dict[EventType, int] = {
    kind: int(EVENT_TYPE_WEIGHT_BY_CODE[code]) for kind, code in EVENT_TYPE_CODES.items()
}


def new_impression_id() -> str:
    return uuid.uuid4().hex


class Impression(models.Model):
    """A recommendation list shown once: a shelf of a page, or an API answer. Written in
    batches from a buffer (tracking.impressions); the same impression id twice is one row.

    A click on it (a view, or any event, whose metadata carries its `recommendation_id`) and
    the add-to-carts and purchases that follow are attributed to it (tracking.attribution).
    """

    impression_id = models.CharField(max_length=32)
    shown_at = models.DateTimeField()
    # Null: an API answer for no particular visitor (a partner's trending request).
    visitor = models.ForeignKey(
        Visitor, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    session_id = models.CharField(max_length=64, blank=True)
    # Where it was shown: a page's widget (home_for_you) or an API endpoint (api_similar).
    surface = models.CharField(max_length=40)
    strategy = models.CharField(max_length=40, blank=True)
    experiment = models.CharField(max_length=64, blank=True)
    variant = models.CharField(max_length=40, blank=True)
    # The products shown, in position order (the first is position 1).
    products = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-shown_at", "-id"]
        indexes = [
            models.Index(fields=["shown_at"], name="impression_time_idx"),
            models.Index(fields=["visitor", "shown_at"], name="impression_visitor_idx"),
            models.Index(
                fields=["experiment", "shown_at"],
                condition=~Q(experiment=""),
                name="impression_experiment_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["impression_id"], name="impression_unique_id"),
        ]

    def __str__(self) -> str:
        return f"{self.surface} {self.impression_id}"
