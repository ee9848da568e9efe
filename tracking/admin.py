from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from tracking.models import Event, Visitor
from tracking.services import events_delete

HISTORY_SHOWN = 50


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin[Visitor]):
    list_display = ["external_id", "user", "is_anonymous", "created_at", "last_seen_at"]
    list_filter = ["is_anonymous", "created_at"]
    list_select_related = ["user"]
    search_fields = ["external_id", "user__username", "user__email"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at", "history"]
    show_full_result_count = False

    @admin.display(description="Latest events")
    def history(self, visitor: Visitor) -> str:
        """The visitor's last events, newest first (an inline would load every one)."""
        events = visitor.events.select_related("product").order_by("-occurred_at", "-id")[
            :HISTORY_SHOWN
        ]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    e.occurred_at.strftime("%Y-%m-%d %H:%M"),
                    e.get_event_type_display(),
                    e.product,
                    e.source,
                )
                for e in events
            ),
        )
        header = "<tr><th>When</th><th>Event</th><th>Product</th><th>Source</th></tr>"
        return format_html("<table>{}{}</table>", mark_safe(header), rows) if rows else "No events"  # noqa: S308


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

    # Deleting goes through the service, which tells the recommender (a saved event tells it
    # through post_save).
    def delete_model(self, request: HttpRequest, obj: Event) -> None:
        events_delete(events=Event.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        events_delete(events=queryset)
