"""Fixtures shared by every app's tests, and the markers that need real servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

BROWSER = "/usr/bin/chromium"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_postgres = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL")
    skip_broker = pytest.mark.skip(reason="needs a Celery broker: set CELERY_BROKER_URL")
    # CI sets REQUIRE_BROWSER=1 so that a missing browser fails there instead of skipping.
    has_browser = Path(BROWSER).exists() or os.environ.get("REQUIRE_BROWSER") == "1"
    skip_browser = pytest.mark.skip(
        reason=f"needs Chromium at {BROWSER} (apt-get install chromium)"
    )
    for item in items:
        if "postgres" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(skip_postgres)
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(skip_redis)
        if "broker" in item.keywords and settings.CELERY_TASK_ALWAYS_EAGER:
            item.add_marker(skip_broker)
        if "browser" in item.keywords and not has_browser:
            item.add_marker(skip_browser)


def _empty_cache() -> None:
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        # Redis: only the test key prefix, never the whole database someone else may share.
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every task anything hands to Celery, as (name, kwargs), whether it would run eagerly or
    be published; none runs or reaches a broker (the broker's own tests use a real worker)."""
    from celery.app.base import Celery
    from celery.app.task import Task

    sent: list[tuple[str, dict[str, Any]]] = []

    def apply_async(task: Task[Any, Any], args: Any = None, kwargs: Any = None, **_: Any) -> None:
        sent.append((task.name, kwargs or {}))

    def send_task(app: Celery, name: str, args: Any = None, kwargs: Any = None, **_: Any) -> None:
        sent.append((name, kwargs or {}))

    monkeypatch.setattr(Task, "apply_async", apply_async)
    monkeypatch.setattr(Celery, "send_task", send_task)
    return sent


@pytest.fixture(autouse=True)
def _broker_queue_empty(request: pytest.FixtureRequest) -> None:
    """A test that starts a real worker starts with an empty queue: other tests (an order
    placed queues its email) publish tasks no worker took, which would run here."""
    if "broker" in request.keywords and not settings.CELERY_TASK_ALWAYS_EAGER:
        from shopsmart.celery import app

        app.control.purge()


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    """`with committed():` runs what the block's writes do once their transaction commits
    (a test's transaction never does): outbox sends, cache generations, emails."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def eager_celery():
    """In-process tasks, as the zero-configuration store runs them, whatever the broker."""
    from shopsmart.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _clear_log_context():
    """No test's log records carry another's context (a task id bound by an eager task)."""
    import structlog

    structlog.contextvars.clear_contextvars()


@pytest.fixture(autouse=True)
def _clear_cache():
    """Every test starts with an empty cache, no session index another test's database held
    (a worker keeps the one it loaded for up to 30 seconds) and no token another kept."""
    from recommender.selectors import session_index_forget
    from shopsmart.api.authentication import tokens_memory_clear

    _empty_cache()
    session_index_forget()
    tokens_memory_clear()
    yield
    _empty_cache()
    session_index_forget()
    tokens_memory_clear()


@pytest.fixture
def smtp(settings: Any, eager_celery: None) -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on a free port, and the shop sending to it, its tasks
    in-process; `smtp.inbox.messages` holds what it received."""
    from infrastructure.mail.tests.smtp import SmtpServer, free_port

    server = SmtpServer(free_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    server.start()
    yield server
    server.stop()
