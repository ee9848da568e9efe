from __future__ import annotations

import time

import psycopg
import pytest
from django.db import close_old_connections, connection

from shopsmart.tests.processes import current_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def served() -> int:
    """What Django does around a request that reads the database: persistent connections
    are checked as the request starts, and the check runs before its first query."""
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 + 1")
        return int(cursor.fetchone()[0])


def test_a_connection_the_server_closed_is_replaced_before_a_request_uses_it():
    assert served() == 2
    backend = connection.connection.info.backend_pid
    with psycopg.connect(current_database_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    time.sleep(0.2)  # the server's goodbye reaches the socket
    assert served() == 2
    assert connection.connection.info.backend_pid != backend


def test_a_healthy_connection_is_kept_without_asking_the_server():
    assert served() == 2
    kept = connection.connection
    assert connection.is_usable()
    assert served() == 2
    assert connection.connection is kept
