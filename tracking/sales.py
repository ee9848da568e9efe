"""What a purchase event says was sold: the one rule for its quantity, revenue and order.

Every sale the store knows is a purchase event: a shop order records one per line, API clients
and imports record theirs. Revenue, orders and conversion are counted from these events, so a
sale is counted once whichever way it arrived. A purchase's metadata may carry

- `quantity`: a whole number of at least 1 (default 1);
- `revenue` (the line's total) or `unit_price` (times the quantity); with neither, the
  product's price when the event is recorded, times the quantity;
- `order` (or `invoice`, or `transaction`): the order the line belongs to, so that lines of
  one order count as one order; a purchase without one counts as an order of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
MAX_QUANTITY = 1_000_000
# The largest amount the revenue column holds (12 digits, 2 after the point).
MAX_REVENUE = Decimal("9999999999.99")
ORDER_KEYS = ("order", "invoice", "transaction")
ORDER_REF_MAX_LENGTH = 64


class SaleError(ValueError):
    """A purchase's metadata names a quantity or an amount that cannot be one."""


@dataclass(frozen=True)
class Sale:
    quantity: int
    revenue: Decimal | None
    order_ref: str


# What an event that is not a purchase stores in the sale columns.
NOT_A_SALE = Sale(quantity=1, revenue=None, order_ref="")


def sale_of(metadata: dict[str, Any], *, price: Decimal | None) -> Sale:
    """The sale a purchase event with this metadata records; `price` is the product's price
    now (None: unknown). Raises SaleError for a quantity or amount that cannot be one."""
    quantity = _quantity(metadata.get("quantity", 1))
    if "revenue" in metadata:
        revenue: Decimal | None = _amount(metadata["revenue"], "revenue")
    elif "unit_price" in metadata:
        revenue = _amount(metadata["unit_price"], "unit_price") * quantity
    else:
        revenue = price * quantity if price is not None else None
    if revenue is not None:
        revenue = revenue.quantize(CENT)
        if revenue > MAX_REVENUE:
            raise SaleError(f"The revenue must be at most {MAX_REVENUE}.")
    order = next((metadata[key] for key in ORDER_KEYS if metadata.get(key)), "")
    return Sale(quantity, revenue, str(order)[:ORDER_REF_MAX_LENGTH])


def sale_of_lenient(metadata: dict[str, Any], *, price: Decimal | None) -> Sale:
    """sale_of(), for sales already made (imports, stored events): a purchase whose metadata
    cannot be read counts one unit at the product's price rather than being refused."""
    try:
        return sale_of(metadata, price=price)
    except SaleError:
        return sale_of({}, price=price)


def _quantity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise SaleError(f"quantity must be a whole number from 1 to {MAX_QUANTITY:,}.")
    return value


def _amount(value: object, name: str) -> Decimal:
    try:
        amount = Decimal(str(value)) if isinstance(value, (str, int, float)) else None
    except InvalidOperation:
        amount = None
    if amount is None or isinstance(value, bool) or not amount.is_finite() or amount < 0:
        raise SaleError(f'{name} must be an amount of at least 0, such as "12.50".')
    return amount
