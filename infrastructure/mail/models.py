from __future__ import annotations

from django.db import models
from django.db.models import Q


class Email(models.Model):
    """One message to send, written in the transaction of the work it tells about; sent by
    the `mail.send` task (infrastructure.mail.services)."""

    # What the message is about, unique: queueing the same message again changes nothing.
    key = models.CharField(max_length=200)
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A worker claims the message while it talks to the SMTP server; a claim older than
    # CLAIM_TIMEOUT belongs to a worker that died and may be taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="email_unsent_idx"
            )
        ]
        constraints = [models.UniqueConstraint(fields=["key"], name="email_unique_key")]

    def __str__(self) -> str:
        return f"{self.subject} to {self.to} ({'sent' if self.sent_at else 'unsent'})"
