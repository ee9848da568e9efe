"""A signed-in shopper's cart over the API: the pages' cart functions (catalog.cart) on the
account's cart row. Adding records an add_to_cart event for the shopper's visitor, as the
pages do, so their recommendations react to the basket at once."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.cart import (
    MAX_QUANTITY,
    CartError,
    account_cart_change,
    account_cart_data,
    cart_increase,
    cart_read,
    cart_set,
)
from catalog.models import Product
from catalog.serializers import ProductCardSerializer
from shopsmart.accounts.orders_api import account_visitor_required
from tracking.models import EventType
from tracking.services import storefront_event_record


class CartLineOutput(serializers.Serializer[Any]):
    product = ProductCardSerializer()
    quantity = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    available = serializers.BooleanField(help_text="For sale, with enough in stock.")


class CartOutput(serializers.Serializer[Any]):
    lines = CartLineOutput(many=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    count = serializers.IntegerField()
    can_check_out = serializers.BooleanField()


class CartAddInput(serializers.Serializer[Any]):
    product = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)


class CartSetInput(serializers.Serializer[Any]):
    quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)


def cart_answer(request: Request, answer: int = status.HTTP_200_OK) -> Response:
    cart = cart_read(account_cart_data(user=request.user))  # type: ignore[arg-type]
    lines = [
        {
            "product": line.product,
            "quantity": line.quantity,
            "total": line.total,
            "available": line.available,
        }
        for line in cart.lines
    ]
    body = {
        "lines": lines,
        "total": cart.total,
        "count": cart.count,
        "can_check_out": cart.can_check_out,
    }
    return Response(CartOutput(body).data, status=answer)


def _changed(request: Request, change: Any) -> None:
    try:
        account_cart_change(user=request.user, change=change)  # type: ignore[arg-type]
    except CartError as error:
        raise ValidationError({"quantity": [str(error)]}) from error


class CartView(APIView):
    """The shopper's cart (GET), and adding a product to it (POST: to what it holds)."""

    permission_classes = [IsAuthenticated]
    error_statuses = (400, 401, 403, 404)

    @extend_schema(responses=CartOutput)
    def get(self, request: Request) -> Response:
        return cart_answer(request)

    @extend_schema(request=CartAddInput, responses={201: CartOutput})
    def post(self, request: Request) -> Response:
        given = CartAddInput(data=request.data)
        given.is_valid(raise_exception=True)
        visitor = account_visitor_required(request)
        product = get_object_or_404(Product.objects.active(), pk=given.validated_data["product"])
        by = given.validated_data["quantity"]
        _changed(request, lambda data: cart_increase(data, product=product, by=by))
        storefront_event_record(
            visitor=visitor.external_id,
            product_id=product.pk,
            event_type=EventType.ADD_TO_CART,
            session_id="",
            metadata={"source": "api"},
        )
        return cart_answer(request, status.HTTP_201_CREATED)


class CartLineView(APIView):
    """One product of the cart: its quantity (PATCH; 0 takes it out), or taking it out."""

    permission_classes = [IsAuthenticated]
    error_statuses = (400, 401, 404)

    @extend_schema(request=CartSetInput, responses=CartOutput)
    def patch(self, request: Request, product: int) -> Response:
        given = CartSetInput(data=request.data)
        given.is_valid(raise_exception=True)
        item = get_object_or_404(Product, pk=product)
        quantity = given.validated_data["quantity"]
        _changed(request, lambda data: cart_set(data, product=item, quantity=quantity))
        return cart_answer(request)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Taken out.")})
    def delete(self, request: Request, product: int) -> Response:
        item = get_object_or_404(Product, pk=product)
        _changed(request, lambda data: cart_set(data, product=item, quantity=0))
        return Response(status=status.HTTP_204_NO_CONTENT)
