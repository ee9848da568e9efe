"""Writes to the catalog."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

from catalog.models import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    Product,
    Review,
    SellerProfile,
)
from catalog.payments import PaymentError, payment_methods
from catalog.selectors import absolute_url
from catalog.signals import order_cancelled, order_placed, products_changed, products_described
from infrastructure.mail.services import email_queue


def product_ratings_refresh(*, product_ids: Iterable[int] | None = None) -> int:
    """Recompute the denormalised average_rating and review_count from the reviews, in SQL."""
    reviews = Review.objects.filter(product=OuterRef("pk")).order_by().values("product")
    count = reviews.annotate(n=Count("id")).values("n")
    average = reviews.annotate(a=Avg("rating")).values("a")
    products = Product.objects.all()
    if product_ids is not None:
        product_ids = list(product_ids)
        products = products.filter(pk__in=product_ids)
    # The cards of listings show the ratings: what was cached of them is stale.
    products_changed.send(sender=Product, product_ids=product_ids)
    return products.update(
        review_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
        average_rating=Coalesce(
            Subquery(average, output_field=DecimalField(max_digits=3, decimal_places=2)),
            Value(Decimal("0")),
        ),
    )


# The numbers of the orders a browser session placed, so a guest can see their confirmation
# again and signing in adds them to the account.
ORDERS_PLACED_SESSION_KEY = "orders_placed"
ORDER_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
ORDER_NUMBER_LENGTH = 10


def new_order_number() -> str:
    return "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(ORDER_NUMBER_LENGTH))


@dataclass(frozen=True)
class CheckoutDetails:
    full_name: str
    email: str
    address: str
    payment_method: str


class CheckoutError(Exception):
    """Checkout placed nothing; `problems` are messages for the shopper."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    # False when the checkout token had already placed this order (a resubmitted form).
    created: bool


def order_place(
    *,
    checkout_token: str,
    quantities: Mapping[int, int],
    details: CheckoutDetails,
    visitor_id: int,
    user: User | None,
    session_id: str = "",
) -> PlacedOrder:
    """Place an order for the quantities of products, all or nothing.

    The stock of each product is taken with one conditional UPDATE (`stock >= quantity`), which
    the database serialises per product, so concurrent checkouts never oversell nor take the
    stock below zero. `order_placed` is sent in the order's transaction (the tracking app
    records one purchase event per line). `visitor_id` is the shopper's Visitor row. The same
    checkout_token places one order however often it is submitted, concurrently or not.
    """
    existing = Order.objects.filter(checkout_token=checkout_token).first()
    if existing is not None:
        return PlacedOrder(existing, created=False)
    try:
        return PlacedOrder(
            _order_create(checkout_token, quantities, details, visitor_id, user, session_id),
            created=True,
        )
    except IntegrityError:
        # A concurrent submission of the same form committed first.
        existing = Order.objects.filter(checkout_token=checkout_token).first()
        if existing is None:
            raise
        return PlacedOrder(existing, created=False)


@transaction.atomic
def _order_create(
    checkout_token: str,
    quantities: Mapping[int, int],
    details: CheckoutDetails,
    visitor_id: int,
    user: User | None,
    session_id: str,
) -> Order:
    if not quantities:
        raise CheckoutError(["Your cart is empty."])
    if details.payment_method not in payment_methods():
        raise CheckoutError(["Choose a payment method."])
    products = Product.objects.in_bulk(sorted(quantities))
    lines = [
        OrderLine(
            product=products[pk],
            product_name=products[pk].name,
            unit_price=products[pk].price,
            quantity=quantities[pk],
        )
        for pk in sorted(quantities)
        if pk in products
    ]
    order = Order.objects.create(
        number=new_order_number(),
        checkout_token=checkout_token,
        visitor_id=visitor_id,
        user=user,
        full_name=details.full_name,
        email=details.email,
        address=details.address,
        payment_method=details.payment_method,
        payment_status=PaymentStatus.DUE_ON_DELIVERY,
        total=sum((line.total for line in lines), Decimal("0")),
    )
    problems = [
        "A product in your cart is no longer sold." for pk in quantities if pk not in products
    ]
    # In id order, so two checkouts of the same products never wait on each other crosswise.
    for line in lines:
        taken = Product.objects.filter(
            pk=line.product.pk, is_active=True, stock__gte=line.quantity
        ).update(stock=F("stock") - line.quantity)
        if not taken:
            problems.append(_unavailable(line.product, line.quantity))
    if problems:
        raise CheckoutError(problems)
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    try:
        order.payment_status = payment_methods()[details.payment_method].take(order)
    except PaymentError as error:
        raise CheckoutError([str(error)]) from error
    order.save(update_fields=["payment_status", "updated_at"])
    order_placed.send(sender=Order, order=order, session_id=session_id)
    _order_email(order, "placed", lines)
    sold_out = list(
        Product.objects.filter(pk__in=[line.product.pk for line in lines], stock=0).values_list(
            "pk", flat=True
        )
    )
    if sold_out:
        products_changed.send(sender=Product, product_ids=sold_out)
    return order


def _unavailable(product: Product, wanted: int) -> str:
    product.refresh_from_db(fields=["stock", "is_active"])
    if not product.is_active or not product.stock:
        return f"{product.name} is sold out."
    return f"{product.name}: only {product.stock} left (you asked for {wanted})."


class OrderCancelError(Exception):
    """The order cannot be cancelled (it has been shipped); the message is for staff."""


def _order_email(order: Order, event: str, lines: list[OrderLine]) -> None:
    """The shopper's email about the order, sent once the order's transaction commits."""
    email_queue(
        key=f"order-{event}:{order.number}",
        to=order.email,
        template=f"emails/order_{event}",
        context={
            "order": order,
            "lines": lines,
            "order_url": absolute_url(order.get_absolute_url()),
        },
    )


@transaction.atomic
def order_cancel(*, order: Order) -> bool:
    """Cancel a placed order: its stock goes back and its purchases stop counting (revenue,
    orders, recommendations), all in one transaction. The status changes with a conditional
    UPDATE, so of two concurrent cancellations one restocks and the other does nothing;
    cancelling a cancelled order again does nothing (False). A shipped order is refused."""
    cancelled = Order.objects.filter(pk=order.pk, status=OrderStatus.PLACED).update(
        status=OrderStatus.CANCELLED, updated_at=timezone.now()
    )
    if not cancelled:
        status = Order.objects.values_list("status", flat=True).get(pk=order.pk)
        if status == OrderStatus.SHIPPED:
            raise OrderCancelError(
                f"Order {order.number} has been shipped: it cannot be cancelled."
            )
        return False
    lines = list(order.lines.order_by("product_id").values_list("product_id", "quantity"))
    # In id order, as checkout takes stock, so the two never wait on each other crosswise.
    for product_id, quantity in lines:
        Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)
    order.refresh_from_db(fields=["status", "updated_at"])
    order_cancelled.send(sender=Order, order=order)
    _order_email(order, "cancelled", list(order.lines.all()))
    products_changed.send(sender=Product, product_ids=[product_id for product_id, _ in lines])
    return True


def orders_ship(*, orders: Iterable[Order]) -> int:
    """Mark placed orders shipped (a cancelled one stays cancelled); how many changed."""
    return Order.objects.filter(
        pk__in=[order.pk for order in orders], status=OrderStatus.PLACED
    ).update(status=OrderStatus.SHIPPED, updated_at=timezone.now())


def orders_claim(*, numbers: Iterable[str], user: User) -> int:
    """Guest orders placed in this browser session become the signed-in account's."""
    return Order.objects.filter(number__in=list(numbers), user__isnull=True).update(user=user)


class ReviewError(Exception):
    """The review was refused; the message is for the shopper."""


@transaction.atomic
def review_create(
    *, product: Product, user: User, visitor_id: int, rating: int, comment: str
) -> Review:
    """A signed-in shopper's one review of a product (the database's unique constraints say
    whether there is one already, also for two submissions at once); the product's rating
    follows at once."""
    try:
        with transaction.atomic():
            review = Review.objects.create(
                product=product,
                user=user,
                visitor_id=visitor_id,
                rating=rating,
                comment=comment,
            )
    except IntegrityError as error:
        raise ReviewError("You have already reviewed this product.") from error
    product_ratings_refresh(product_ids=[product.pk])
    return review


# A seller's image is shown from where it is: an absolute web address, never a path of ours.
IMAGE_URL = URLValidator(schemes=["http", "https"])
SELLER_PRODUCT_FIELDS = (
    "name",
    "description",
    "price",
    "stock",
    "category",
    "image_url",
    "is_active",
)
# What the content neighbours are computed from (recommender's ProductText).
DESCRIBING_FIELDS = frozenset({"name", "description", "category"})


@transaction.atomic
def seller_product_save(
    *, seller: SellerProfile, product: Product | None = None, **fields: Any
) -> Product:
    """Create a seller's product (product=None, on sale unless is_active=False) or change the
    given fields of one of theirs (is_active=True puts a withdrawn one back on sale);
    validated whole (a ValidationError names the fields; nothing is saved). The catalog's
    receivers refresh every shelf and the search index as for any product change; a new or
    re-described product is announced (products_described) so its content neighbours are
    computed now rather than at night."""
    unknown = set(fields) - set(SELLER_PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"Not fields a seller sets: {sorted(unknown)}")
    if product is not None:
        _owned(seller, product)
    errors: dict[str, list[str]] = {}
    if fields.get("image_url"):
        try:
            IMAGE_URL(fields["image_url"])
        except ValidationError:
            errors["image_url"] = ["An http or https address."]
    if "price" in fields and fields["price"] is not None and fields["price"] <= 0:
        errors["price"] = ["A price above 0."]
    created = product is None
    product = product if product is not None else Product(seller=seller, is_active=True)
    for name, value in fields.items():
        setattr(product, name, value)
    if "name" in fields or not product.slug:
        product.slug = slugify(product.name)[:255] or "product"
    try:
        product.full_clean(exclude=["external_id"])
    except ValidationError as error:
        errors = {**error.message_dict, **errors}
    if errors:
        raise ValidationError(errors)
    product.save()
    if created or DESCRIBING_FIELDS & set(fields):
        products_described.send(sender=Product, product_ids=[product.pk])
    return product


def seller_product_withdraw(*, seller: SellerProfile, product: Product) -> None:
    """Take a seller's product off sale (its orders and history stay)."""
    _owned(seller, product)
    if Product.objects.filter(pk=product.pk, is_active=True).update(is_active=False):
        products_changed.send(sender=Product, product_ids=[product.pk])


def _owned(seller: SellerProfile, product: Product) -> None:
    if product.seller_id != seller.pk:
        raise PermissionError("Another seller's product.")
