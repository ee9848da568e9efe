from __future__ import annotations

from django.contrib import admin

from catalog.models import Category, Product, Review


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


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin[Review]):
    list_display = ["product", "rating", "visitor", "user", "created_at"]
    list_filter = ["rating", "created_at"]
    list_select_related = ["product", "visitor", "user"]
    search_fields = ["product__name", "comment", "visitor__external_id", "user__username"]
    autocomplete_fields = ["product", "visitor", "user"]
    date_hierarchy = "created_at"
    show_full_result_count = False
