from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from infrastructure.mail.models import Email


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin[Email]):
    """Read-only: what the shop sent or still has to send, and why not yet (the tasks send)."""

    list_display = ["id", "to", "subject", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "subject", "key"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Email | None = None) -> bool:
        return False
