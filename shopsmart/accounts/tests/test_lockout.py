"""Guessing passwords: failed sign-ins are counted in the database and lock the username out
from the address that failed, for a cool-off time; Redis being down changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tracking.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def sign_in(client: Client, username: str, password: str, address: str = "198.51.100.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def guess_wrong(client: Client, user: User, times: int, address: str = "198.51.100.7") -> None:
    """Wrong passwords: refused on the form, the one reaching the limit with the lockout."""
    for attempt in range(1, times + 1):
        answer = sign_in(client, user.username, "wrong guess", address)
        reached = attempt >= settings.AXES_FAILURE_LIMIT
        assert answer.status_code == (429 if reached else 200)


def test_after_five_failures_even_the_right_password_is_refused(client, settings):
    user = UserFactory.create(password=PASSWORD)
    guess_wrong(client, user, settings.AXES_FAILURE_LIMIT)

    locked = sign_in(client, user.username, PASSWORD)

    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_address(client, settings):
    ann, bob = UserFactory.create(password=PASSWORD), UserFactory.create(password=PASSWORD)
    guess_wrong(client, ann, settings.AXES_FAILURE_LIMIT)

    assert sign_in(Client(), bob.username, PASSWORD).status_code == 302
    assert sign_in(Client(), ann.username, PASSWORD, address="203.0.113.9").status_code == 302
    assert sign_in(Client(), ann.username, PASSWORD).status_code == 429


def test_the_admin_sign_in_is_locked_out_alike(client, settings):
    staff = UserFactory.create(password=PASSWORD, is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("admin:login"), {"username": staff.username, "password": "no"})
    answer = client.post(reverse("admin:login"), {"username": staff.username, "password": PASSWORD})
    assert answer.status_code == 429


def test_a_success_before_the_limit_starts_the_count_again(client, settings):
    user = UserFactory.create(password=PASSWORD)
    guess_wrong(client, user, settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, user.username, PASSWORD).status_code == 302
    client.logout()
    guess_wrong(client, user, settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, user.username, PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off_time(client, settings):
    user = UserFactory.create(password=PASSWORD)
    guess_wrong(client, user, settings.AXES_FAILURE_LIMIT)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )
    assert sign_in(client, user.username, PASSWORD).status_code == 302


def test_with_redis_down_failures_are_still_counted(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }
    user = UserFactory.create(password=PASSWORD)
    guess_wrong(client, user, settings.AXES_FAILURE_LIMIT)
    assert sign_in(client, user.username, PASSWORD).status_code == 429
