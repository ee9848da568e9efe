from __future__ import annotations

import subprocess
import sys

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from shopsmart.api.authentication import CachedTokenAuthentication, token_cache_key
from shopsmart.tests.processes import ROOT, service_environment
from tracking.tests.factories import api_client_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner() -> tuple[User, Token, APIClient]:
    user = api_client_user()
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return user, token, client


def recommendations(client: APIClient) -> int:
    return client.get("/api/recommendations", {"visitor": "ann"}).status_code


def test_a_known_token_is_checked_without_the_database(partner):
    _, token, client = partner
    assert recommendations(client) == 200
    with CaptureQueriesContext(connection) as queries:
        assert recommendations(client) == 200
    assert not [q for q in queries.captured_queries if "authtoken" in q["sql"]]
    # The cache holds a hash of the key, never the credential itself.
    assert cache.get(token_cache_key(token.key)) is not None
    assert cache.get(f"auth:token:{token.key}") is None


def test_a_deleted_token_stops_working_at_once(partner):
    _, token, client = partner
    assert recommendations(client) == 200
    token.delete()
    assert recommendations(client) == 401


def test_a_deactivated_user_is_refused_at_once(partner):
    user, _, client = partner
    assert recommendations(client) == 200
    user.is_active = False
    user.save()
    assert recommendations(client) == 401


def test_staff_rights_granted_later_take_effect_at_once(partner):
    user, _, client = partner
    assert client.post("/api/cache/flush").status_code == 403
    user.groups.add(Group.objects.get(name="Operator"))
    assert client.post("/api/cache/flush").status_code == 204
    user.groups.clear()
    assert client.post("/api/cache/flush").status_code == 403


def test_acting_for_any_visitor_follows_the_tokens_user_at_once(partner):
    user, _, client = partner
    assert recommendations(client) == 200
    user.groups.clear()
    assert recommendations(client) == 403
    user.user_permissions.add(Permission.objects.get(codename="act_for_visitors"))
    assert recommendations(client) == 200


def test_an_unknown_token_is_refused(partner):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert recommendations(client) == 401
    assert recommendations(client) == 401


def test_a_cached_tokens_user_has_the_stored_users_rights(partner):
    """The user rebuilt from the cache is the stored one: not a superuser, active, and holding
    exactly its permissions (a field-order slip once made every cached user a superuser)."""
    user, token, _ = partner
    CachedTokenAuthentication().authenticate_credentials(token.key)  # remembered
    with CaptureQueriesContext(connection) as queries:
        cached, _ = CachedTokenAuthentication().authenticate_credentials(token.key)
    assert len(queries) == 0
    assert (cached.pk, cached.username) == (user.pk, user.username)
    assert (cached.is_active, cached.is_staff, cached.is_superuser) == (True, False, False)
    assert cached.has_perm("tracking.act_for_visitors")
    assert not cached.has_perm("recommender.flush_caches")


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_token_deleted_by_another_process_is_refused_here_at_once(partner):
    """This process keeps the token it has seen in memory; an operator deleting it from
    another process (the admin, a shell) is obeyed by the very next request."""
    _, token, client = partner
    assert recommendations(client) == 200
    assert recommendations(client) == 200  # answered from this process's memory
    forget = "from rest_framework.authtoken.models import Token; "
    forget += f"Token.objects.filter(key={token.key!r}).delete()"
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", forget],
        cwd=ROOT,
        env=service_environment(),
        check=True,
        timeout=60,
    )
    assert recommendations(client) == 401
