from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.models import (
    AccountCart,
    Category,
    Order,
    OrderLine,
    Product,
    Review,
    SellerProfile,
)
from catalog.services import DESCRIBING_FIELDS, OrderCancelError, order_cancel, orders_ship
from catalog.signals import products_described


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ["name", "slug", "parent", "updated_at"]
    list_filter = ["parent"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


class ReviewInline(admin.TabularInline[Review, Product]):
    model = Review
    extra = 0
    fields = ["visitor", "user", "rating", "comment", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["visitor", "user"]
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = [
        "name",
        "external_id",
        "category",
        "price",
        "stock",
        "is_active",
        "average_rating",
        "review_count",
        "updated_at",
    ]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "external_id", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category"]
    # Maintained by the review services, not typed by hand.
    readonly_fields = ["average_rating", "review_count", "created_at", "updated_at"]
    list_per_page = 50
    show_full_result_count = False
    inlines = [ReviewInline]

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change or DESCRIBING_FIELDS & set(form.changed_data):
            products_described.send(sender=Product, product_ids=[obj.pk])


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin[Review]):
    list_display = ["product", "rating", "visitor", "user", "created_at"]
    list_filter = ["rating", "created_at"]
    list_select_related = ["product", "visitor", "user"]
    search_fields = ["product__name", "comment", "visitor__external_id", "user__username"]
    autocomplete_fields = ["product", "visitor", "user"]
    date_hierarchy = "created_at"
    show_full_result_count = False


class OrderLineInline(admin.TabularInline[OrderLine, Order]):
    model = OrderLine
    extra = 0
    fields = readonly_fields = ("product", "product_name", "unit_price", "quantity")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        # An order's lines are what was sold: staff change its status, not its contents.
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = [
        "number",
        "created_at",
        "full_name",
        "email",
        "total",
        "status",
        "payment_status",
    ]
    list_filter = ["status", "payment_status", "payment_method", "created_at"]
    list_select_related = ["user"]
    search_fields = ["number", "full_name", "email", "user__username"]
    fields = [
        "number",
        "status",
        "payment_method",
        "payment_status",
        "total",
        "full_name",
        "email",
        "address",
        "user",
        "visitor",
        "created_at",
        "updated_at",
    ]
    # The status changes through the actions, which restock and reverse a cancelled order's
    # purchases (catalog.services), never by editing the field.
    actions = ["cancel_orders", "ship_orders"]
    readonly_fields = [
        "number",
        "status",
        "payment_method",
        "total",
        "user",
        "visitor",
        "created_at",
        "updated_at",
    ]
    inlines = [OrderLineInline]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from checkout

    @admin.action(
        description="Cancel the selected orders (stock goes back)", permissions=["change"]
    )
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        cancelled, refused = 0, []
        for order in queryset.order_by("pk"):
            try:
                cancelled += order_cancel(order=order)
            except OrderCancelError as error:
                refused.append(str(error))
        self.message_user(request, f"{cancelled} order(s) cancelled and restocked.")
        for message in refused:
            self.message_user(request, message, level=messages.WARNING)

    @admin.action(description="Mark the selected orders shipped", permissions=["change"])
    def ship_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        shipped = orders_ship(orders=queryset)
        self.message_user(request, f"{shipped} order(s) marked shipped.")


@admin.register(SellerProfile)
class SellerProfileAdmin(admin.ModelAdmin[SellerProfile]):
    """Marketplace sellers (their accounts need the Seller role too)."""

    list_display = ["display_name", "user", "contact_email", "created_at"]
    search_fields = ["display_name", "user__username", "contact_email"]
    autocomplete_fields = ["user"]


@admin.register(AccountCart)
class AccountCartAdmin(admin.ModelAdmin[AccountCart]):
    """Carts of shoppers using the API (read only: the shopper's app changes them)."""

    list_display = ["user", "updated_at"]
    readonly_fields = ["user", "data", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
