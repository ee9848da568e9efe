from __future__ import annotations

from django.contrib import admin

from tracking.models import Event, Visitor


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin[Visitor]):
    list_display = ["external_id", "user", "is_anonymous", "created_at", "last_seen_at"]
    list_filter = ["is_anonymous", "created_at"]
    list_select_related = ["user"]
    search_fields = ["external_id", "user__username", "user__email"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ["occurred_at", "event_type", "product", "visitor", "source", "session_id"]
    list_filter = ["event_type", "source", "occurred_at"]
    list_select_related = ["product", "visitor"]
    search_fields = ["event_id", "visitor__external_id", "product__name", "session_id"]
    autocomplete_fields = ["product", "visitor"]
    readonly_fields = ["created_at"]
    # Millions of rows: no date_hierarchy (it aggregates the dates of the whole table) and no
    # exact COUNT(*) on every page load; the occurred_at filter covers dates.
    show_full_result_count = False
    list_per_page = 50
