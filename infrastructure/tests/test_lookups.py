from __future__ import annotations

import pytest

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from tracking.models import Event
from tracking.tests.factories import EventFactory

pytestmark = pytest.mark.django_db


def test_any_matches_the_listed_ids_on_keys_and_foreign_keys():
    products = ProductFactory.create_batch(4)
    wanted = [products[0].pk, products[2].pk, 10**9]
    assert set(Product.objects.filter(pk__any=wanted)) == {products[0], products[2]}
    event = EventFactory.create(product=products[2])
    EventFactory.create(product=products[1])
    assert list(Event.objects.filter(product_id__any=wanted)) == [event]


def test_any_of_nothing_matches_nothing():
    ProductFactory.create()
    assert list(Product.objects.filter(pk__any=[])) == []
