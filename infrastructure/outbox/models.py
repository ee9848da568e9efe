from __future__ import annotations

from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """One task to send to the broker, written in the same transaction as the work it starts."""

    # A registered Celery task name, such as "recommender.compute_trending".
    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict, blank=True)
    # Passed to each send: a worker drops the task if it has not started it this long after.
    expires_seconds = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the broker accepted it; null while it still has to be sent.
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The sweep reads only what is unsent, oldest first.
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="outbox_unsent_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(task=""), name="outbox_task_named"),
        ]

    def __str__(self) -> str:
        state = "sent" if self.sent_at else "unsent"
        return f"{self.task} #{self.pk} ({state})"
