from __future__ import annotations

from decimal import Decimal

from django.utils.text import slugify
from factory.declarations import LazyAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory

from catalog.models import Category, Product, Review


class CategoryFactory(DjangoModelFactory[Category]):
    class Meta:
        model = Category

    name = Sequence(lambda n: f"Category {n}")
    slug = LazyAttribute(lambda o: slugify(o.name))


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product

    external_id = Sequence(lambda n: f"SKU-{n:05d}")
    name = Sequence(lambda n: f"Product {n}")
    slug = LazyAttribute(lambda o: slugify(o.name))
    description = "A fine product."
    price = Decimal("9.99")
    category = SubFactory(CategoryFactory)
    stock = 10
    image_url = "/img/placeholder/test/sku.svg"


class ReviewFactory(DjangoModelFactory[Review]):
    class Meta:
        model = Review

    product = SubFactory(ProductFactory)
    visitor = SubFactory("tracking.tests.factories.VisitorFactory")
    rating = 4
    comment = "Nice."
