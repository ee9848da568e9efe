"""Payment methods: a step of checkout that a real provider can be plugged into.

A method takes the order being placed (inside checkout's transaction) and says what its
payment status is; a method that fails raises PaymentError, and checkout then places nothing.
The store offers the methods listed in settings.PAYMENT_METHODS (dotted paths).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, ClassVar, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from catalog.models import PaymentStatus

if TYPE_CHECKING:
    from catalog.models import Order


class PaymentError(Exception):
    """The payment was refused; the message is for the shopper."""


class PaymentMethod(Protocol):
    code: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str]

    def take(self, order: Order) -> PaymentStatus: ...


class PayOnDelivery:
    """Nothing to take now: the courier collects the money."""

    code = "pay_on_delivery"
    label = "Pay on delivery"
    description = "Pay the courier in cash or by card when your parcel arrives."

    def take(self, order: Order) -> PaymentStatus:
        return PaymentStatus.DUE_ON_DELIVERY


@cache
def payment_methods() -> dict[str, PaymentMethod]:
    """The store's payment methods by code, in the order the settings list them."""
    methods: list[PaymentMethod] = [import_string(path)() for path in settings.PAYMENT_METHODS]
    return {method.code: method for method in methods}
