"""Email through the outbox: a message is stored in the transaction of the work it tells
about, and sent by a task that the outbox hands to the broker once that transaction commits.

A broker outage delays the task (the outbox re-sends it); an SMTP outage fails the task,
which Celery retries with a growing delay, and the retry job picks up any message still
unsent after that. A message is sent once: the task claims it with a conditional update
before talking to the SMTP server and marks it sent after, so a second task for the same
message does nothing. Only a worker dying between the server's acceptance and that mark could
send it twice, and then both copies carry the same Message-ID, which mail clients show once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from infrastructure.mail.models import Email
from infrastructure.outbox.services import outbox_enqueue

logger = logging.getLogger(__name__)

# A worker that claimed a message this long ago without sending it has died.
CLAIM_TIMEOUT = timedelta(minutes=10)
# The retry job re-queues messages unsent this long after they were written.
RETRY_AFTER = timedelta(minutes=15)
SEND_TASK = "mail.send"


def email_queue(*, key: str, to: str, template: str, context: Mapping[str, Any]) -> Email:
    """Store the message rendered from `template` (its `_subject.txt`, `.txt` and `.html`)
    and send it once the caller's transaction commits. The same key queues nothing new."""
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    with transaction.atomic():
        email, created = Email.objects.get_or_create(
            key=key,
            defaults={
                "to": to,
                "subject": subject,
                "text": render_to_string(f"{template}.txt", context),
                "html": render_to_string(f"{template}.html", context),
            },
        )
        if created:
            _send_enqueue(email.pk)
    return email


def email_send(*, email_id: int, now: datetime | None = None) -> bool:
    """Send the message if nobody has (True when this call sent it). An SMTP error is
    recorded and raised, for the task to retry."""
    now = now or timezone.now()
    claimed = Email.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT),
        pk=email_id,
        sent_at__isnull=True,
    ).update(claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return False  # sent already, or another worker is sending it
    email = Email.objects.get(pk=email_id)
    try:
        _message(email).send()
    except Exception as error:
        Email.objects.filter(pk=email_id).update(claimed_at=None, last_error=str(error)[:1_000])
        raise
    Email.objects.filter(pk=email_id).update(sent_at=timezone.now(), last_error="")
    return True


def emails_retry(*, now: datetime | None = None) -> int:
    """Queue a send again for every message still unsent a while after it was written (its
    task gave up, or was lost with a worker); returns how many."""
    now = now or timezone.now()
    stale = list(
        Email.objects.filter(sent_at__isnull=True, created_at__lt=now - RETRY_AFTER)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
        .values_list("pk", flat=True)[:500]
    )
    for email_id in stale:
        with transaction.atomic():
            _send_enqueue(email_id)
    return len(stale)


def _send_enqueue(email_id: int) -> None:
    from infrastructure.mail import tasks  # the task module imports this one

    outbox_enqueue(task=tasks.send, kwargs={"email_id": email_id})


def _message(email: Email) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"Message-ID": _message_id(email.key)},
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    return message


def _message_id(key: str) -> str:
    """The same for every attempt at one message, so a rare second copy reads as one."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
    return f"<{digest}@{domain}>"
