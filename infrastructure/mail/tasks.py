"""Sending the stored messages (infrastructure.mail.services); the retry job runs from beat
(recommender.schedules)."""

from __future__ import annotations

import logging
from smtplib import SMTPException
from typing import Any

from celery import shared_task

from infrastructure.mail import services

logger = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 600


@shared_task(
    bind=True,
    name=services.SEND_TASK,
    max_retries=8,
    soft_time_limit=50,
    time_limit=60,
    # A worker lost mid-send gives the task back; the claim keeps it from a second send.
    acks_late=True,
)
def send(self: Any, email_id: int) -> bool:
    """Send one stored message (safe to run twice: it is sent once). The SMTP server refusing
    or unreachable: again after 30 s, 60 s, ... up to 10 min; run in the request (no broker),
    the message waits for the retry job instead of failing the request."""
    try:
        return services.email_send(email_id=email_id)
    except (SMTPException, OSError) as error:
        if self.request.is_eager:
            logger.warning("Email %s not sent; the retry job will: %s", email_id, error)
            return False
        delay = min(MAX_DELAY_SECONDS, 30 * 2**self.request.retries)
        raise self.retry(exc=error, countdown=delay) from error


@shared_task(name="mail.retry", soft_time_limit=50, time_limit=60)
def retry() -> int:
    """Queue again the messages still unsent; returns how many."""
    return services.emails_retry()
