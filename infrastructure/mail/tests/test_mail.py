"""The mail machinery against a real SMTP server (aiosmtpd, started by the `smtp` fixture):
an SMTP outage delays a message and neither loses nor doubles it; a key queues one message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from infrastructure.mail.models import Email
from infrastructure.mail.services import email_queue, email_send, emails_retry
from infrastructure.mail.tests.smtp import parts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def hello_template(settings):
    """The tests' own message, from memory (the shop's templates are the apps' business)."""
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {
                            "emails/test_hello_subject.txt": "Hello {{ name }}\n",
                            "emails/test_hello.txt": "Hello {{ name }}, in text.\n",
                            "emails/test_hello.html": "<p>Hello {{ name }}</p>\n",
                        },
                    )
                ]
            },
        }
    ]


def queue(key: str = "hello:ada") -> Email:
    return email_queue(
        key=key, to="ada@example.com", template="emails/test_hello", context={"name": "Ada"}
    )


def test_a_queued_email_reaches_the_smtp_server_in_text_and_html(smtp, committed):
    with committed():
        queue()
    [received] = smtp.inbox.messages
    assert (received["To"], received["Subject"]) == ("ada@example.com", "Hello Ada")
    body = {kind: text.strip() for kind, text in parts(received).items()}
    assert body == {"text/plain": "Hello Ada, in text.", "text/html": "<p>Hello Ada</p>"}
    assert received["Message-ID"].endswith("@localhost>")
    assert Email.objects.get().sent_at is not None


def test_an_smtp_outage_delays_the_email_and_never_loses_or_doubles_it(smtp, committed):
    smtp.stop()
    with committed():
        stored = queue()
    stored.refresh_from_db()
    assert (stored.sent_at, stored.attempts) == (None, 1)
    assert stored.last_error
    smtp.start()
    # The retry job picks it up once it is old enough (a task's own retries come sooner).
    assert emails_retry(now=timezone.now()) == 0
    later = timezone.now() + timedelta(minutes=20)
    with committed():
        assert emails_retry(now=later) == 1
    with committed():
        assert emails_retry(now=later) == 0  # sent: nothing left to retry
    assert email_send(email_id=stored.pk) is False  # a late duplicate task sends nothing
    assert len(smtp.inbox.messages) == 1


def test_the_same_message_queued_twice_is_sent_once(smtp, committed):
    with committed():
        queue()
        queue()
    assert len(smtp.inbox.messages) == 1
    assert Email.objects.count() == 1


def test_a_message_another_worker_is_sending_is_left_to_it(smtp):
    stored = Email.objects.create(
        key="k", to="ada@example.com", subject="s", text="t", claimed_at=timezone.now()
    )
    assert email_send(email_id=stored.pk) is False
    # A claim older than the timeout belongs to a worker that died: it is taken over.
    assert email_send(email_id=stored.pk, now=timezone.now() + timedelta(minutes=11)) is True
    assert len(smtp.inbox.messages) == 1
