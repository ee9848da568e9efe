"""Recording what shoppers do and taking their orders never waits on the broker: events,
views and carts enqueue no task at all; an order enqueues only its confirmation email, through
the outbox (stored in the order's transaction, sent after it), so a broker that is down or
slow delays the email and never loses or delays the order."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import Order
from catalog.tests.factories import ProductFactory
from catalog.tests.test_checkout import checkout_token, fill_cart, place
from infrastructure.mail.models import Email
from infrastructure.outbox.models import OutboxMessage
from tracking.models import Event
from tracking.tests.factories import api_client_user

pytestmark = pytest.mark.django_db


def test_events_views_and_carts_enqueue_no_task_and_an_order_only_its_email(
    sent_tasks, django_capture_on_commit_callbacks
):
    mug = ProductFactory.create(stock=5)
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=api_client_user('p')).key}"
    )
    shopper = Client()

    api.post(
        "/api/events", {"visitor": "v1", "product": mug.pk, "event_type": "view"}, format="json"
    )
    shopper.get(mug.get_absolute_url())
    fill_cart(shopper, (mug, 2))
    assert sent_tasks == []
    with django_capture_on_commit_callbacks(execute=True):
        place(shopper, checkout_token(shopper))

    assert Order.objects.count() == 1
    assert Event.objects.count() == 1 + 1 + 1 + 1  # API view, page view, add to cart, purchase
    email = Email.objects.get()
    assert sent_tasks == [("mail.send", {"email_id": email.pk})]
    assert OutboxMessage.objects.get().task == "mail.send"


def test_the_guard_sees_a_task_that_is_sent(sent_tasks):
    from recommender.tasks import compute_trending

    compute_trending.delay()
    assert sent_tasks == [("recommender.compute_trending", {})]
