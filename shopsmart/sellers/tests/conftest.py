from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.contrib.auth.models import User

from catalog.models import Order, Product, SellerProfile
from catalog.services import CheckoutDetails, order_place
from catalog.tests.factories import CategoryFactory, ProductFactory
from tracking.tests.factories import role_member, visitor_pk

_tokens = itertools.count()


def seller_account(name: str) -> tuple[User, SellerProfile]:
    user = role_member("Seller", username=name)
    profile = SellerProfile.objects.create(
        user=user, display_name=name.title(), contact_email=f"{name}@example.com"
    )
    return user, profile


def order_placed(quantities: dict[Product, int], *, buyer: str = "Ada Buyer") -> Order:
    """An order placed through the checkout service, as a shopper's would be."""
    placed = order_place(
        checkout_token=f"test-{next(_tokens)}",
        quantities={product.pk: quantity for product, quantity in quantities.items()},
        details=CheckoutDetails(
            full_name=buyer,
            email="ada@example.com",
            address="1 Lane\nLeeds",
            payment_method="pay_on_delivery",
        ),
        visitor_id=visitor_pk(f"buyer-{buyer}"),
        user=None,
    )
    return placed.order


@pytest.fixture
def marketplace(db: Any) -> dict[str, Any]:
    """Two sellers with a product each, and an order holding both products."""
    potter_user, potter = seller_account("potter")
    weaver_user, weaver = seller_account("weaver")
    kitchen = CategoryFactory.create(name="Kitchen")
    mug = ProductFactory.create(name="Stoneware mug", seller=potter, category=kitchen, stock=20)
    rug = ProductFactory.create(name="Wool rug", seller=weaver, category=kitchen, stock=20)
    order = order_placed({mug: 2, rug: 1})
    return {
        "potter": potter,
        "potter_user": potter_user,
        "weaver": weaver,
        "weaver_user": weaver_user,
        "kitchen": kitchen,
        "mug": mug,
        "rug": rug,
        "order": order,
    }
