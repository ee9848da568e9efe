"""Other processes (a worker, a shell) working on the database this test runs against."""

from __future__ import annotations

from urllib.parse import quote

from django.db import connection


def current_database_url() -> str:
    """The URL of pytest-django's test database, for a process started by the test."""
    config = connection.settings_dict
    password = f":{quote(config['PASSWORD'], safe='')}" if config["PASSWORD"] else ""
    user = quote(config["USER"], safe="")
    return f"postgres://{user}{password}@{config['HOST']}:{config['PORT']}/{config['NAME']}"
