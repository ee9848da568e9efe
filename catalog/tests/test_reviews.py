from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Product, Review
from catalog.tests.factories import ProductFactory
from tracking.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def review(client, product, **data):
    return client.post(reverse("catalog:review_add", args=[product.pk]), data)


def test_a_signed_in_shopper_reviews_once_and_the_rating_follows(client):
    client.force_login(UserFactory.create(first_name="Ada"))
    mug = ProductFactory.create()
    response = review(client, mug, rating="4", comment="Holds <script>alert(1)</script> tea.")
    assert response["Location"] == mug.get_absolute_url()
    page = client.get(mug.get_absolute_url()).content.decode()
    assert "Thank you for your review." in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert Product.objects.get(pk=mug.pk).average_rating == Decimal("4.00")

    review(client, mug, rating="1")
    assert (
        "You have already reviewed this product."
        in client.get(mug.get_absolute_url()).content.decode()
    )
    assert Review.objects.count() == 1


@pytest.mark.parametrize("rating", ["0", "6", "x", ""])
def test_a_rating_outside_1_to_5_is_refused(client, rating):
    client.force_login(UserFactory.create())
    mug = ProductFactory.create()
    review(client, mug, rating=rating)
    assert not Review.objects.exists()


def test_anonymous_shoppers_are_asked_to_sign_in(client):
    mug = ProductFactory.create()
    assert review(client, mug, rating="5")["Location"].startswith(reverse("login"))
    assert "Sign in</a> to write a review" in client.get(mug.get_absolute_url()).content.decode()
    assert not Review.objects.exists()
