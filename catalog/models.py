from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import get_script_prefix, reverse

from catalog.querysets import ProductQuerySet, browsable_q, is_browsable


def product_path(pk: int, slug: str) -> str:
    """The product page's path; reverse() costs more than the rest of a product card, and a
    list of cards needs one per product, so each is reversed once per process."""
    return _reversed_product_path(get_script_prefix(), pk, slug)


@lru_cache(maxsize=65_536)
def _reversed_product_path(script_prefix: str, pk: int, slug: str) -> str:
    # script_prefix is part of the key: reverse() prepends the current one.
    return reverse("catalog:product_detail", kwargs={"pk": pk, "slug": slug})


class Category(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class SellerProfile(models.Model):
    """A seller of the marketplace: an account (in the Seller role) that lists its own
    products through the seller API."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seller"
    )
    display_name = models.CharField(max_length=120)
    contact_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name


class Product(models.Model):
    # The id the product has in the merchant's own systems (SKU, StockCode); null for products
    # created only in this store. NULL rather than "" so that many products can lack one.
    external_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    name = models.CharField(max_length=255)
    # Only decorates URLs (products are looked up by id), so it needs no index.
    slug = models.SlugField(max_length=255, db_index=False)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    image_url = models.CharField(max_length=500, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    # The marketplace seller that lists it; null for the shop's own products.
    seller = models.ForeignKey(
        SellerProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    is_active = models.BooleanField(default=True)
    stock = models.PositiveIntegerField(default=0)
    # Denormalised from Review by catalog.services so listings can sort by rating cheaply.
    average_rating = models.DecimalField(max_digits=3, decimal_places=2, default=Decimal("0"))
    review_count = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        permissions = [("sell", "Can list and change own products through the seller API")]
        # The trigram GIN index on name lives in migration 0002: PostgreSQL only.
        indexes = [
            models.Index(fields=["category", "is_active"], name="product_category_active_idx"),
            models.Index(fields=["-created_at"], name="product_created_idx"),
            # A category page lists its browsable products by name: read in order (LIMIT 24)
            # and counted from this index alone, not by sorting a category's thousands of rows.
            models.Index(
                fields=["category", "name", "id"],
                condition=browsable_q(),
                name="product_browsable_by_name_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["external_id"], name="product_unique_external_id"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_not_negative"),
            models.CheckConstraint(
                condition=Q(average_rating__gte=0, average_rating__lte=5),
                name="product_average_rating_range",
            ),
            models.CheckConstraint(
                condition=Q(review_count__gte=0), name="product_review_count_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return product_path(self.pk, self.slug)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def browsable(self) -> bool:
        """May a shopper be shown it (querysets.browsable_q)."""
        return is_browsable(is_active=self.is_active, stock=self.stock)


class Review(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    # Every review has a visitor (anonymous shoppers review too); a signed-in author's user is
    # kept as well, so one person cannot review a product twice from two devices.
    visitor = models.ForeignKey(
        "tracking.Visitor", on_delete=models.CASCADE, related_name="reviews"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviews",
    )
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "-created_at"], name="review_product_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"
            ),
            models.UniqueConstraint(
                fields=["product", "visitor"], name="review_one_per_visitor_and_product"
            ),
            models.UniqueConstraint(
                fields=["product", "user"],
                condition=Q(user__isnull=False),
                name="review_one_per_user_and_product",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.product_id} by {self.visitor_id}"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


class PaymentStatus(models.TextChoices):
    # Pay on delivery: the money is collected when the parcel arrives.
    DUE_ON_DELIVERY = "due_on_delivery", "Due on delivery"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"


class Order(models.Model):
    Status = OrderStatus

    # What the shopper sees and quotes; random, so one order's number says nothing of another's.
    number = models.CharField(max_length=16)
    # One per checkout form shown: submitting the same form twice places one order.
    checkout_token = models.CharField(max_length=64)
    visitor = models.ForeignKey("tracking.Visitor", on_delete=models.PROTECT, related_name="orders")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    full_name = models.CharField(max_length=200)
    email = models.EmailField()
    address = models.TextField()
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    payment_method = models.CharField(max_length=32)
    payment_status = models.CharField(max_length=16, choices=PaymentStatus.choices)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_user_idx"),
            models.Index(fields=["visitor"], name="order_visitor_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="order_unique_number"),
            models.UniqueConstraint(fields=["checkout_token"], name="order_unique_checkout_token"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_known"
            ),
            models.CheckConstraint(
                condition=Q(payment_status__in=PaymentStatus.values),
                name="order_payment_status_known",
            ),
        ]
        # Money figures (the dashboard's revenue); order rows are view_order.
        permissions = [("view_revenue", "Can see revenue figures")]

    def __str__(self) -> str:
        return f"Order {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:order_detail", kwargs={"number": self.number})


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # PROTECT: an order's history outlives the product's withdrawal (deactivate it instead).
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    # The name and price as sold, whatever the catalog says later.
    product_name = models.CharField(max_length=255)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["order", "id"]
        indexes = [models.Index(fields=["product"], name="orderline_product_idx")]
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="orderline_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="orderline_unit_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


class AccountCart(models.Model):
    """A signed-in shopper's cart, shared by the pages and the apps of the account: the same
    mapping a guest's session keeps ({"cart": {product id: quantity}}), changed by the same
    functions (catalog.cart)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_cart"
    )
    data = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart of {self.user}"
