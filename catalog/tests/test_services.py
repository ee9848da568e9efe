from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.services import product_ratings_refresh
from catalog.tests.factories import ProductFactory, ReviewFactory

pytestmark = pytest.mark.django_db


def test_ratings_are_recomputed_from_reviews():
    rated, unrated = (
        ProductFactory.create(),
        ProductFactory.create(review_count=3, average_rating=Decimal(4)),
    )
    for rating in (5, 4, 4):
        ReviewFactory.create(product=rated, rating=rating)
    assert product_ratings_refresh() == 2
    rated.refresh_from_db()
    unrated.refresh_from_db()
    assert (rated.review_count, rated.average_rating) == (3, Decimal("4.33"))
    assert (unrated.review_count, unrated.average_rating) == (0, Decimal("0"))


def test_refresh_can_be_limited_to_some_products():
    first, second = ProductFactory.create(), ProductFactory.create()
    ReviewFactory.create(product=first, rating=2)
    ReviewFactory.create(product=second, rating=2)
    assert product_ratings_refresh(product_ids=[first.pk]) == 1
    second.refresh_from_db()
    assert second.review_count == 0
