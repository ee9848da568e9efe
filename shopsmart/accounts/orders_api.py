"""A signed-in shopper's orders over the API: check out, list, read, cancel.

Checkout (`POST /api/orders`) takes the lines and the delivery details and an
`Idempotency-Key` header: the key becomes the order's checkout token (unique per account), so
a retried request, even concurrent with the first, returns the same order (200) and never
places a second one (201 the first time). It calls the same service as the checkout page,
which takes the stock with conditional updates, records the purchases and emails the
confirmation through the outbox. Cancelling puts the stock back and stops the purchases
counting, as the admin's action does.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.cart import account_cart_change, account_cart_data, cart_clear, cart_quantities
from catalog.models import Order
from catalog.payments import payment_methods
from catalog.selectors import order_history
from catalog.services import (
    CheckoutDetails,
    CheckoutError,
    OrderCancelError,
    order_cancel,
    order_place,
)
from shopsmart.accounts.api import OrderOutput
from tracking.models import Visitor
from tracking.selectors import account_visitor_row

IDEMPOTENCY_KEY_MAX = 64


class OrderLineInput(serializers.Serializer[Any]):
    product = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=99)


class CheckoutInput(serializers.Serializer[Any]):
    lines = OrderLineInput(
        many=True,
        allow_empty=False,
        required=False,
        help_text="What to buy; absent: the shopper's cart (emptied once the order is placed).",
    )
    full_name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    address = serializers.CharField(max_length=1_000)
    payment_method = serializers.ChoiceField(choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payment_method"].choices = sorted(payment_methods())  # type: ignore[attr-defined]

    def validate_lines(self, lines: list[dict[str, int]]) -> list[dict[str, int]]:
        products = [line["product"] for line in lines]
        if len(set(products)) != len(products):
            raise ValidationError("Each product once (give its quantity).")
        return lines


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="Any unique string per checkout (a UUID): a retry with the same key returns "
    "the same order.",
)


def account_visitor_required(request: Request) -> Visitor:
    """The signed-in shopper's visitor (403 for an account that never signed in to get one)."""
    visitor = account_visitor_row(request.user)
    if visitor is None:
        raise PermissionDenied("Sign in through /api/auth/login first (no visitor yet).")
    return visitor


def _orders(request: Request) -> QuerySet[Order]:
    return order_history(user=request.user)  # type: ignore[arg-type]


class OrdersView(APIView):
    """The shopper's orders (newest first), and checkout."""

    permission_classes = [IsAuthenticated]
    error_statuses = (400, 401, 403)

    @extend_schema(responses=OrderOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(OrderOutput(_orders(request), many=True).data)

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=CheckoutInput,
        responses={201: OrderOutput, 200: OrderOutput},
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not 0 < len(key) <= IDEMPOTENCY_KEY_MAX:
            raise ValidationError(
                {"Idempotency-Key": [f"Required: a unique string of 1-{IDEMPOTENCY_KEY_MAX}."]}
            )
        given = CheckoutInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        from_cart = "lines" not in data
        quantities = (
            cart_quantities(account_cart_data(user=request.user))  # type: ignore[arg-type]
            if from_cart
            else {line["product"]: line["quantity"] for line in data["lines"]}
        )
        try:
            placed = order_place(
                checkout_token=f"api:{request.user.pk}:{key}",
                quantities=quantities,
                details=CheckoutDetails(
                    full_name=data["full_name"],
                    email=data["email"],
                    address=data["address"],
                    payment_method=data["payment_method"],
                ),
                visitor_id=account_visitor_required(request).pk,
                user=request.user,  # type: ignore[arg-type]
            )
        except CheckoutError as error:
            raise ValidationError({"lines": error.problems}) from error
        if from_cart and placed.created:
            account_cart_change(user=request.user, change=cart_clear)  # type: ignore[arg-type]
        order = _orders(request).get(pk=placed.order.pk)
        answer = status.HTTP_201_CREATED if placed.created else status.HTTP_200_OK
        return Response(OrderOutput(order).data, status=answer)


class OrderView(APIView):
    """One of the shopper's orders (another's is a 404)."""

    permission_classes = [IsAuthenticated]
    error_statuses = (401, 404)

    @extend_schema(responses=OrderOutput)
    def get(self, request: Request, number: str) -> Response:
        return Response(OrderOutput(get_object_or_404(_orders(request), number=number)).data)


class OrderCancelView(APIView):
    """Cancel the shopper's order while it is not shipped: the stock goes back, its purchases
    stop counting and the shopper is emailed. Cancelling twice changes nothing."""

    permission_classes = [IsAuthenticated]
    error_statuses = (400, 401, 404)

    @extend_schema(request=None, responses=OrderOutput)
    def post(self, request: Request, number: str) -> Response:
        order = get_object_or_404(_orders(request), number=number)
        try:
            order_cancel(order=order)
        except OrderCancelError as error:
            raise ValidationError({"status": [str(error)]}) from error
        return Response(OrderOutput(_orders(request).get(pk=order.pk)).data)
