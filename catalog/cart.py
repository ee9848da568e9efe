"""The shopper's cart: a guest's is kept in the session (it needs no account); a signed-in
shopper's in the account's AccountCart row, the same mapping changed by the same functions,
so the pages and the apps of one account share one cart. Signing in on the pages moves the
guest cart into the account's (cart_merge_into_account).

The session holds {product id: quantity}; prices, names and stock are read from the catalog
whenever the cart is shown, so they are never stale.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
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
    """Apply `change` (a cart function on a session-like mapping) to the account's cart,
    the row locked so two changes at once never lose one; saved only when it succeeds."""
    cart, _ = AccountCart.objects.get_or_create(user_id=user.pk)
    cart = AccountCart.objects.select_for_update().get(pk=cart.pk)
    result = change(cart.data)
    cart.save(update_fields=["data", "updated_at"])
    return result


def account_cart_data(*, user: AbstractBaseUser) -> MutableMapping[str, Any]:
    """The account's cart as a session-like mapping, to read (an empty one without a cart)."""
    data = AccountCart.objects.filter(user_id=user.pk).values_list("data", flat=True).first()
    return dict(data or {})


def shopper_cart_change(
    *,
    session: MutableMapping[str, Any],
    user: AbstractBaseUser | AnonymousUser | None,
    change: Callable[[MutableMapping[str, Any]], T],
) -> T:
    """Apply `change` to the shopper's cart: the account's when signed in, else the session's."""
    if user is not None and user.is_authenticated:
        return account_cart_change(user=user, change=change)
    return change(session)


def shopper_cart_data(
    *, session: MutableMapping[str, Any], user: AbstractBaseUser | AnonymousUser | None
) -> MutableMapping[str, Any]:
    """The shopper's cart (as shopper_cart_change finds it) to read."""
    if user is not None and user.is_authenticated:
        return account_cart_data(user=user)
    return session


def cart_merge_into_account(*, session: MutableMapping[str, Any], user: AbstractBaseUser) -> None:
    """At sign-in: what the guest put in the cart joins the account's cart (quantities of a
    product held in both add up, to at most MAX_QUANTITY) and leaves the session. Stock is
    checked where it always is, on the cart page and at checkout."""
    guest = cart_quantities(session)
    if not guest:
        return

    def merge(data: MutableMapping[str, Any]) -> None:
        held = cart_quantities(data)
        for pk, quantity in guest.items():
            held[pk] = min(held.get(pk, 0) + quantity, MAX_QUANTITY)
        data[SESSION_KEY] = {str(pk): quantity for pk, quantity in held.items()}

    account_cart_change(user=user, change=merge)
    cart_clear(session)
