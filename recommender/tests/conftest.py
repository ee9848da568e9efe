"""Fixtures of the recommender's shelf tests: a small shop with every shelf filled, a
partner's API client, and running what a write does on commit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.tests.factories import CategoryFactory, ProductFactory
from recommender.tests.factories import (
    BoughtTogetherFactory,
    ItemSimilarityFactory,
    TrendingScoreFactory,
)
from tracking.tests.factories import EventFactory, VisitorFactory, api_client_user


@pytest.fixture
def shop():
    """The teapot is on every shelf: trending, a neighbour and a bought-together of the mug."""
    kitchen = CategoryFactory.create(name="Kitchen", slug="kitchen")
    garden = CategoryFactory.create(name="Garden", slug="garden")
    mug, teapot, cup = (
        ProductFactory.create(name=name, category=kitchen, price=Decimal(price), stock=5)
        for name, price in (("Blue Mug", "8.50"), ("Brown Teapot", "31.99"), ("Tea Cup", "4.25"))
    )
    for product, score in ((teapot, 3.0), (cup, 2.0), (mug, 1.0)):
        TrendingScoreFactory.create(product=product, score=score)
    for neighbour, score in ((teapot, 0.9), (cup, 0.5)):
        ItemSimilarityFactory.create(product=mug, similar_product=neighbour, score=score)
        ItemSimilarityFactory.create(product=neighbour, similar_product=mug, score=score)
    BoughtTogetherFactory.create(product=mug, similar_product=teapot)
    EventFactory.create(visitor=VisitorFactory.create(external_id="ann"), product=mug)
    return {"kitchen": kitchen, "garden": garden, "mug": mug, "teapot": teapot}


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    token = Token.objects.create(user=api_client_user())
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
