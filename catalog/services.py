"""Writes to the catalog."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Avg, Count, DecimalField, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from catalog.models import Product, Review


def product_ratings_refresh(*, product_ids: Iterable[int] | None = None) -> int:
    """Recompute the denormalised average_rating and review_count from the reviews, in SQL."""
    reviews = Review.objects.filter(product=OuterRef("pk")).order_by().values("product")
    count = reviews.annotate(n=Count("id")).values("n")
    average = reviews.annotate(a=Avg("rating")).values("a")
    products = Product.objects.all()
    if product_ids is not None:
        products = products.filter(pk__in=list(product_ids))
    return products.update(
        review_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
        average_rating=Coalesce(
            Subquery(average, output_field=DecimalField(max_digits=3, decimal_places=2)),
            Value(Decimal("0")),
        ),
    )
