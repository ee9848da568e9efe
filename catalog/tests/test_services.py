from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from catalog.models import Order, OrderStatus
from catalog.services import (
    CheckoutDetails,
    OrderCancelError,
    order_cancel,
    order_place,
    orders_ship,
    product_ratings_refresh,
)
from catalog.tests.factories import ProductFactory, ReviewFactory
from tracking.models import Event, EventType
from tracking.tests.factories import visitor_pk

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


def placed(quantities: dict[int, int], checkout: str = "t1") -> Order:
    return order_place(
        checkout_token=checkout,
        quantities=quantities,
        details=CheckoutDetails("Ada", "ada@example.com", "1 Road", "pay_on_delivery"),
        visitor_id=visitor_pk("ada"),
        user=None,
    ).order


def test_cancelling_restocks_and_the_sale_stops_counting():
    mug, cup = ProductFactory.create(stock=5), ProductFactory.create(stock=1)
    order = placed({mug.pk: 2, cup.pk: 1})
    other = placed({mug.pk: 1}, checkout="t2")
    purchases = Event.objects.filter(event_type=EventType.PURCHASE)
    assert purchases.count() == 3
    assert order_cancel(order=order) is True
    mug.refresh_from_db()
    cup.refresh_from_db()
    assert (mug.stock, cup.stock) == (4, 1)  # 5 - 2 - 1 + 2; the cup back in stock
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    # Only the other order's purchase is left: revenue and orders count it alone.
    assert list(purchases.values_list("order_ref", flat=True)) == [other.number]
    # Cancelling again (a retry, a second staff member) changes nothing.
    assert order_cancel(order=order) is False
    mug.refresh_from_db()
    assert mug.stock == 4


def test_a_shipped_order_cannot_be_cancelled():
    mug = ProductFactory.create(stock=5)
    order = placed({mug.pk: 2})
    assert orders_ship(orders=[order]) == 1
    with pytest.raises(OrderCancelError, match="shipped"):
        order_cancel(order=order)
    mug.refresh_from_db()
    assert mug.stock == 3
    assert Event.objects.filter(event_type=EventType.PURCHASE).count() == 1


def test_staff_cancel_in_the_admin_and_the_stock_goes_back(client):
    mug = ProductFactory.create(stock=5)
    order = placed({mug.pk: 3})
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "x"))
    answer = client.post(
        "/admin/catalog/order/",
        {"action": "cancel_orders", "_selected_action": [order.pk]},
        follow=True,
    )
    assert "1 order(s) cancelled and restocked." in answer.content.decode()
    mug.refresh_from_db()
    assert mug.stock == 5
    assert not Event.objects.filter(event_type=EventType.PURCHASE).exists()
