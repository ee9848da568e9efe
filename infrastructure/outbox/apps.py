from __future__ import annotations

from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """Tasks that must reach a worker are recorded in the database first (a transactional
    outbox), sent after the commit, and re-sent by a sweep until the broker has taken them."""

    name = "infrastructure.outbox"
    label = "outbox"
