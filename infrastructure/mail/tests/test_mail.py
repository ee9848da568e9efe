"""Email through a real SMTP server (aiosmtpd, started by the test): order emails, password
reset, and an SMTP outage that delays a message and neither loses nor doubles it."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from catalog.models import Order
from catalog.services import CheckoutDetails, order_cancel, order_place
from catalog.tests.factories import ProductFactory
from infrastructure.mail.models import Email
from infrastructure.mail.services import email_queue, email_send, emails_retry
from tracking.tests.factories import visitor_pk

pytestmark = pytest.mark.django_db


class Inbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.inbox = Inbox()
        self.port = port
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings, eager_celery) -> Iterator[SmtpServer]:
    """A real SMTP server on a free port, and the shop sending to it (tasks in-process)."""
    server = SmtpServer(free_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://shop.example.com"
    server.start()
    yield server
    server.stop()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def place_order(email_address: str = "ada@example.com") -> Order:
    mug = ProductFactory.create(name="Blue Mug", stock=5)
    return order_place(
        checkout_token=f"token-{email_address}",
        quantities={mug.pk: 2},
        details=CheckoutDetails("Ada Lovelace", email_address, "1 Road", "pay_on_delivery"),
        visitor_id=visitor_pk("ada"),
        user=None,
    ).order


def parts(message: Message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in message.walk()
        if not part.is_multipart()
    }


def test_an_order_confirmation_reaches_the_smtp_server_in_text_and_html(smtp, committed):
    with committed():
        order = place_order()
    [received] = smtp.inbox.messages
    assert received["To"] == "ada@example.com"
    assert received["Subject"] == f"Your ShopSmart order {order.number} is placed"
    body = parts(received)
    assert set(body) == {"text/plain", "text/html"}
    for text in body.values():
        assert "Blue Mug" in text
        assert order.number in text
        assert f"https://shop.example.com/orders/{order.number}/" in text
    assert Email.objects.get().sent_at is not None


def test_a_cancelled_order_is_told_by_email(smtp, committed):
    with committed():
        order = place_order()
    with committed():
        order_cancel(order=order)
        order_cancel(order=order)  # again: nothing more happens, nothing more is sent
    subjects = [message["Subject"] for message in smtp.inbox.messages]
    assert subjects == [
        f"Your ShopSmart order {order.number} is placed",
        f"Your ShopSmart order {order.number} is cancelled",
    ]


def test_an_smtp_outage_delays_the_email_and_never_loses_or_doubles_it(smtp, committed):
    smtp.stop()
    with committed():
        order = place_order()  # the order is placed whatever the mail server does
    stored = Email.objects.get()
    assert stored.sent_at is None
    assert stored.attempts == 1
    assert stored.last_error
    assert Order.objects.filter(pk=order.pk).exists()
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
    assert Email.objects.get().sent_at is not None


def test_the_same_message_queued_twice_is_sent_once(smtp, committed):
    with committed():
        for _ in range(2):
            email_queue(
                key="welcome:ada",
                to="ada@example.com",
                template="emails/order_placed",
                context={"order": place_order("other@example.com"), "lines": []},
            )
    welcome = [m for m in smtp.inbox.messages if m["To"] == "ada@example.com"]
    assert len(welcome) == 1
    assert Email.objects.filter(key="welcome:ada").count() == 1


def test_a_forgotten_password_is_reset_through_the_emailed_link(smtp, committed):
    User.objects.create_user("ada", "ada@example.com", "an old long passphrase")
    browser = Client()
    with committed():
        sent = browser.post("/account/password/reset/", {"email": "ada@example.com"})
    assert sent.status_code == 302
    [received] = smtp.inbox.messages
    assert received["Subject"] == "Choose a new ShopSmart password"
    body = parts(received)
    assert set(body) == {"text/plain", "text/html"}
    link = re.search(r"https?://[^/\s]+(/account/password/reset/\S+/)", body["text/plain"])
    assert link is not None
    form = browser.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    new = "a brand new long passphrase"
    saved = browser.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert saved.status_code == 302
    assert User.objects.get(username="ada").check_password(new)
    # The link works once.
    assert "does not work any more" in browser.get(link.group(1), follow=True).content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_email(smtp, committed):
    with committed():
        answer = Client().post("/account/password/reset/", {"email": "nobody@example.com"})
    assert answer.status_code == 302
    assert smtp.inbox.messages == []


def test_a_signed_in_shopper_changes_their_password(client):
    client.force_login(User.objects.create_user("ada", "ada@example.com", "an old long passphrase"))
    new = "a brand new long passphrase"
    changed = client.post(
        "/account/password/",
        {"old_password": "an old long passphrase", "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302
    assert User.objects.get(username="ada").check_password(new)
    assert client.get("/account/").status_code == 200  # still signed in
