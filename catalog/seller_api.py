"""Marketplace sellers' own products over the API: list, create, change (restock), withdraw.

For accounts in the Seller role (the `catalog.sell` permission) with a seller profile. Every
lookup is limited to the seller's own products, so another seller's is a 404 (its existence is
not revealed). Products are validated like any other (a price above 0, stock of 0 or more, a
category that exists, an http(s) image URL) and a change shows on every shelf and in search on
the next request, as an admin's does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Category, Product, SellerProfile
from catalog.services import SELLER_PRODUCT_FIELDS, seller_product_save, seller_product_withdraw

SELL = "catalog.sell"


class IsSeller(BasePermission):
    message = "Only sellers (the Seller role, with a seller profile) list products here."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.has_perm(SELL)
            and SellerProfile.objects.filter(user=user).exists()
        )


class SellerProductSerializer(serializers.ModelSerializer[Product]):
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    stock = serializers.IntegerField(min_value=0, max_value=1_000_000)
    image_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, help_text="http(s) only."
    )
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())

    class Meta:
        model = Product
        fields = ["id", *SELLER_PRODUCT_FIELDS, "is_active", "slug", "created_at", "updated_at"]
        read_only_fields = ["id", "is_active", "slug", "created_at", "updated_at"]

    def validate_image_url(self, value: str) -> str:
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("An http or https address.")
        return value


def _seller(request: Request) -> SellerProfile:
    return SellerProfile.objects.get(user=request.user)  # type: ignore[misc]  # IsSeller: signed in


def _own(request: Request) -> QuerySet[Product]:
    mine = Product.objects.filter(seller__user=request.user)  # type: ignore[misc]  # signed in
    return mine.order_by("-created_at", "-id")


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
    """One of the seller's products: read, change (price, stock, ...), withdraw (DELETE takes
    it off sale; its orders and history stay). Another seller's product is a 404."""

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
