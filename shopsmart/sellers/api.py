"""Marketplace sellers over the API: their own products (list, create, change, restock,
withdraw, put back on sale), the lines of their products in shoppers' orders, and figures per
product.

For accounts in the Seller role (the `catalog.sell` permission) with a seller profile. Every
lookup is limited to the seller's own products, so another seller's is a 404 (its existence is
not revealed), and an order shows the seller only its own lines. Products are validated by
the catalog's service (a price above 0, stock of 0 or more, a category that exists, an
http(s) image address) and a change shows on every shelf and in search on the next request;
a new or re-described product gets its content neighbours within moments.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Category, OrderLine, Product, SellerProfile
from catalog.selectors import seller_order_lines, seller_products
from catalog.services import SELLER_PRODUCT_FIELDS, seller_product_save, seller_product_withdraw
from infrastructure.api.parameters import QueryParameters
from shopsmart.sellers.access import seller_of
from shopsmart.sellers.figures import DEFAULT_DAYS, MAX_DAYS, seller_figures


class IsSeller(BasePermission):
    message = "Only sellers (the Seller role, with a seller profile) use this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return seller_of(request.user) is not None


class SellerProductSerializer(serializers.ModelSerializer[Product]):
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    stock = serializers.IntegerField(min_value=0, max_value=1_000_000)
    image_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, help_text="http(s) only."
    )
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    is_active = serializers.BooleanField(
        required=False,
        help_text="On sale. New products are; false withdraws one, true puts it back.",
    )

    class Meta:
        model = Product
        fields = ["id", *SELLER_PRODUCT_FIELDS, "slug", "created_at", "updated_at"]
        read_only_fields = ["id", "slug", "created_at", "updated_at"]


class SellerOrderLineSerializer(serializers.ModelSerializer[OrderLine]):
    order = serializers.CharField(source="order.number", help_text="The order's number.")
    placed_at = serializers.DateTimeField(source="order.created_at")
    status = serializers.CharField(source="order.status", help_text="placed, shipped, cancelled")
    ship_to = serializers.CharField(source="order.full_name", help_text="The buyer's name.")
    address = serializers.CharField(source="order.address", help_text="Where it goes.")
    line_total = serializers.DecimalField(source="total", max_digits=12, decimal_places=2)

    class Meta:
        model = OrderLine
        fields = [
            "order",
            "placed_at",
            "status",
            "product",
            "product_name",
            "unit_price",
            "quantity",
            "line_total",
            "ship_to",
            "address",
        ]


class SellerOrderLinePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class FiguresQuery(QueryParameters):
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=DEFAULT_DAYS)


class ProductFiguresSerializer(serializers.Serializer[Any]):
    product = serializers.IntegerField(source="product.pk")
    name = serializers.CharField(source="product.name")
    is_active = serializers.BooleanField(source="product.is_active")
    stock = serializers.IntegerField(source="product.stock")
    views = serializers.IntegerField()
    recommendation_clicks = serializers.IntegerField(
        help_text="Views that came from a click on a recommendation."
    )
    add_to_carts = serializers.IntegerField()
    add_to_cart_rate = serializers.FloatField(allow_null=True, help_text="Per view.")
    units_sold = serializers.IntegerField(help_text="Cancelled orders do not count.")
    revenue = serializers.DecimalField(max_digits=12, decimal_places=2)
    orders = serializers.IntegerField()


class SellerFiguresSerializer(serializers.Serializer[Any]):
    days = serializers.IntegerField()
    views = serializers.IntegerField()
    units_sold = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=12, decimal_places=2)
    products = ProductFiguresSerializer(many=True)


def _seller(request: Request) -> SellerProfile:
    seller = seller_of(request.user)
    if seller is None:  # IsSeller let the request in: its profile went meanwhile
        raise PermissionDenied(IsSeller.message)
    return seller


def _own(request: Request) -> QuerySet[Product]:
    return seller_products(seller=_seller(request))


def _saved(request: Request, product: Product | None, fields: dict[str, Any]) -> Product:
    try:
        return seller_product_save(seller=_seller(request), product=product, **fields)
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from error


class SellerProductsView(APIView):
    """The seller's products, withdrawn ones included (GET), and listing a new one (POST)."""

    permission_classes = [IsAuthenticated, IsSeller]
    error_statuses = (400, 401, 403)

    @extend_schema(responses=SellerProductSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(SellerProductSerializer(_own(request), many=True).data)

    @extend_schema(request=SellerProductSerializer, responses={201: SellerProductSerializer})
    def post(self, request: Request) -> Response:
        given = SellerProductSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        product = _saved(request, None, dict(given.validated_data))
        return Response(SellerProductSerializer(product).data, status=status.HTTP_201_CREATED)


class SellerProductView(APIView):
    """One of the seller's products: read, change (price, stock, is_active ...), withdraw
    (DELETE takes it off sale; its orders and history stay). Another seller's is a 404."""

    permission_classes = [IsAuthenticated, IsSeller]
    error_statuses = (400, 401, 403, 404)

    @extend_schema(responses=SellerProductSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(SellerProductSerializer(get_object_or_404(_own(request), pk=pk)).data)

    @extend_schema(request=SellerProductSerializer, responses=SellerProductSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        product = get_object_or_404(_own(request), pk=pk)
        given = SellerProductSerializer(product, data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        product = _saved(request, product, dict(given.validated_data))
        return Response(SellerProductSerializer(product).data)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Withdrawn.")})
    def delete(self, request: Request, pk: int) -> Response:
        seller_product_withdraw(
            seller=_seller(request), product=get_object_or_404(_own(request), pk=pk)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SellerOrderLinesView(ListAPIView[OrderLine]):
    """The lines of the seller's products in shoppers' orders, newest order first, a page at
    a time; an order's lines of other sellers' products are not shown."""

    permission_classes = [IsAuthenticated, IsSeller]
    serializer_class = SellerOrderLineSerializer
    pagination_class = SellerOrderLinePagination
    error_statuses = (401, 403, 404)

    def get_queryset(self) -> QuerySet[OrderLine]:
        return seller_order_lines(seller=_seller(self.request))


class SellerFiguresView(APIView):
    """Per product of the seller, over the last `days` days (30 unless asked): views, views
    from recommendations, add-to-carts and their rate, units sold, revenue and orders."""

    permission_classes = [IsAuthenticated, IsSeller]
    error_statuses = (400, 401, 403)

    @extend_schema(parameters=[FiguresQuery], responses=SellerFiguresSerializer)
    def get(self, request: Request) -> Response:
        query = FiguresQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        figures = seller_figures(seller=_seller(request), days=query.validated_data["days"])
        return Response(SellerFiguresSerializer(figures).data)
