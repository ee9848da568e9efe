"""The shopper's cart, kept in the session: it needs no account and survives logging in
(Django keeps the session's data when it rotates the key at login). An API client has no
session: its shopper's cart is the same mapping in an AccountCart row, changed by the same
functions.

The session holds {product id: quantity}; prices, names and stock are read from the catalog
whenever the cart is shown, so they are never stale.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from catalog.models import AccountCart, Product

T = TypeVar("T")

SESSION_KEY = "cart"
MAX_QUANTITY = 99


class CartError(ValueError):
    """A change the cart refuses, with a message for the shopper."""


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity

    @property
    def available(self) -> bool:
        """Still for sale, and enough in stock for this quantity."""
        return self.product.is_active and self.product.stock >= self.quantity


@dataclass(frozen=True)
class Cart:
    lines: list[CartLine]

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0"))

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def can_check_out(self) -> bool:
        return bool(self.lines) and all(line.available for line in self.lines)


def cart_quantities(session: MutableMapping[str, Any]) -> dict[int, int]:
    return {int(pk): int(quantity) for pk, quantity in session.get(SESSION_KEY, {}).items()}


def cart_read(session: MutableMapping[str, Any]) -> Cart:
    """The cart's lines with their products as they are now (one query), oldest first;
    products deleted since are dropped."""
    quantities = cart_quantities(session)
    products = Product.objects.with_category().in_bulk(list(quantities))
    return Cart(
        lines=[
            CartLine(product=products[pk], quantity=quantity)
            for pk, quantity in quantities.items()
            if pk in products
        ]
    )


def cart_set(session: MutableMapping[str, Any], *, product: Product, quantity: int) -> None:
    """Put `quantity` of the product in the cart (0 takes it out); refused beyond the stock."""
    if not 0 <= quantity <= MAX_QUANTITY:
        raise CartError(f"Choose a quantity from 0 to {MAX_QUANTITY}.")
    if quantity and not product.is_active:
        raise CartError(f"{product.name} is no longer for sale.")
    if quantity > product.stock:
        left = f"only {product.stock} left" if product.stock else "out of stock"
        raise CartError(f"{product.name}: {left}.")
    cart = {str(pk): q for pk, q in cart_quantities(session).items()}
    if quantity:
        cart[str(product.pk)] = quantity
    else:
        cart.pop(str(product.pk), None)
    session[SESSION_KEY] = cart


def cart_increase(session: MutableMapping[str, Any], *, product: Product, by: int) -> None:
    """Add `by` more of the product to what the cart already holds."""
    held = cart_quantities(session).get(product.pk, 0)
    cart_set(session, product=product, quantity=held + by)


def cart_clear(session: MutableMapping[str, Any]) -> None:
    session.pop(SESSION_KEY, None)


@transaction.atomic
def account_cart_change(
    *, user: AbstractBaseUser, change: Callable[[MutableMapping[str, Any]], T]
) -> T:
    """Apply `change` (a cart function on a session-like mapping) to the account's API cart,
    the row locked so two changes at once never lose one; saved only when it succeeds."""
    cart, _ = AccountCart.objects.get_or_create(user_id=user.pk)
    cart = AccountCart.objects.select_for_update().get(pk=cart.pk)
    result = change(cart.data)
    cart.save(update_fields=["data", "updated_at"])
    return result


def account_cart_data(*, user: AbstractBaseUser) -> MutableMapping[str, Any]:
    """The account's API cart as a session-like mapping, to read (an empty one without a cart)."""
    data = AccountCart.objects.filter(user_id=user.pk).values_list("data", flat=True).first()
    return dict(data or {})
