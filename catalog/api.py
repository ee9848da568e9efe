"""The catalog's JSON API: products (search, filters, ordering, pages) and categories."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors
from catalog.models import Category, Product
from catalog.pagination import ProductCardPaginator
from catalog.serializers import (
    CachedCardSerializer,
    CategoryNodeSerializer,
    ProductDetailSerializer,
    ProductQuerySerializer,
)
from infrastructure.api.access import SearchThrottle


class ProductPagination(PageNumberPagination):
    # One page at a time from the cache (catalog.pagination), given a ProductQuery.
    django_paginator_class = ProductCardPaginator
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def category_from_parameter(value: str | None, field: str = "category") -> Category | None:
    """The category named by an id or slug parameter; 400 if there is none such."""
    if not value:
        return None
    category = selectors.category_by_id_or_slug(value)
    if category is None:
        raise serializers.ValidationError({field: [f"No category with id or slug {value!r}."]})
    return category


@extend_schema(parameters=[ProductQuerySerializer])
class ProductListView(ListAPIView[Product]):
    """Browsable products (active, in stock): fuzzy search, category, price range, ordering."""

    serializer_class = CachedCardSerializer
    pagination_class = ProductPagination
    throttle_classes = [SearchThrottle]
    error_statuses = (400, 404, 429)

    def get_queryset(self) -> Any:
        """The question, not its answer: the paginator reads the asked page of it."""
        query = ProductQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        return selectors.ProductQuery(
            search=filters.get("search", ""),
            category=category_from_parameter(filters.get("category")),
            min_price=filters.get("min_price"),
            max_price=filters.get("max_price"),
            ordering=filters.get("ordering"),
        )


class ProductDetailView(RetrieveAPIView[Product]):
    """One active product, in stock or not."""

    serializer_class = ProductDetailSerializer
    error_statuses = (404,)

    def get_object(self) -> Product:
        product: Product = get_object_or_404(
            Product.objects.active().with_category(), pk=self.kwargs["pk"]
        )
        return product


class CategoryTreeView(APIView):
    """Every category, nested under its parent."""

    @extend_schema(responses=CategoryNodeSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(selectors.category_tree())
