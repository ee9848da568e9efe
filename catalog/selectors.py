"""Reads of the catalog: named, prefetching queries that views and the API share."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from catalog.models import Category, Product, Review


def category_list() -> QuerySet[Category]:
    return Category.objects.select_related("parent").order_by("name")


def category_with_descendant_ids(*, category: Category) -> list[int]:
    """The category's id and those of all its sub-categories, at any depth."""
    parents = {category.pk}
    ids = [category.pk]
    while parents:
        children = list(Category.objects.filter(parent_id__in=parents).values_list("id", flat=True))
        parents = set(children) - set(ids)
        ids.extend(parents)
    return ids


def product_list(*, category: Category | None = None) -> QuerySet[Product]:
    products = Product.objects.browsable()
    if category is not None:
        products = products.filter(category_id__in=category_with_descendant_ids(category=category))
    return products


def product_newest(*, limit: int) -> QuerySet[Product]:
    return product_list().order_by("-created_at", "-id")[:limit]


def product_detail(*, pk: int) -> Product:
    reviews = Review.objects.select_related("user").order_by("-created_at")[:20]
    product: Product = get_object_or_404(
        Product.objects.active()
        .with_category()
        .prefetch_related(Prefetch("reviews", queryset=reviews, to_attr="recent_reviews")),
        pk=pk,
    )
    return product
