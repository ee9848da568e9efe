from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.models import Category, Product
from catalog.tests.factories import CategoryFactory, ProductFactory, ReviewFactory
from tracking.tests.factories import UserFactory, VisitorFactory

pytestmark = pytest.mark.django_db


def _rejected(**fields: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory.create(**fields)


def test_negative_price_is_rejected():
    _rejected(price=Decimal("-0.01"))


def test_zero_price_is_allowed():
    assert ProductFactory.create(price=Decimal("0")).price == 0


def test_negative_stock_is_rejected():
    _rejected(stock=-1)


def test_average_rating_above_five_is_rejected():
    _rejected(average_rating=Decimal("5.5"))


def test_external_id_is_unique_but_may_be_missing_on_many_products():
    ProductFactory.create(external_id="85123A")
    _rejected(external_id="85123A")
    ProductFactory.create(external_id=None)
    ProductFactory.create(external_id=None)
    assert Product.objects.filter(external_id__isnull=True).count() == 2


def test_category_names_are_unique():
    CategoryFactory.create(name="Kitchen")
    with pytest.raises(IntegrityError), transaction.atomic():
        CategoryFactory.create(name="Kitchen", slug="kitchen-2")


def test_category_cannot_be_its_own_parent():
    category = CategoryFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.filter(pk=category.pk).update(parent=category)


@pytest.mark.parametrize("rating", [0, 6])
def test_rating_outside_one_to_five_is_rejected(rating):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewFactory.create(rating=rating)


@pytest.mark.parametrize("rating", [1, 5])
def test_ratings_one_to_five_are_accepted(rating):
    assert ReviewFactory.create(rating=rating).rating == rating


def test_one_review_per_visitor_and_product():
    review = ReviewFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewFactory.create(product=review.product, visitor=review.visitor)
    # The same visitor may review another product.
    ReviewFactory.create(visitor=review.visitor)


def test_one_review_per_user_and_product_even_from_two_devices():
    user = UserFactory.create()
    product = ProductFactory.create()
    ReviewFactory.create(product=product, user=user, visitor=VisitorFactory.create(user=user))
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewFactory.create(product=product, user=user, visitor=VisitorFactory.create(user=user))


def test_browsable_products_are_active_and_in_stock():
    shown = ProductFactory.create()
    ProductFactory.create(is_active=False)
    ProductFactory.create(stock=0)
    assert list(Product.objects.browsable()) == [shown]
