"""Settings resolve from the environment: zero-config fallbacks, real services, production guard."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from shopsmart.tests.processes import ROOT

STRONG_KEY = "k3y-" + "x7Qp9zR2mW4vB8nL5tY1uH6gJ3dF0sA-" * 2
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], "
    "'db_name': str(s.DATABASES['default']['NAME']), "
    "'cache': s.CACHES['default']['BACKEND'], 'eager': s.CELERY_TASK_ALWAYS_EAGER, "
    "'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS}))"
)
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
)


def run_python(code: str, settings_module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    clean.update(env, DJANGO_SETTINGS_MODULE=settings_module)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def resolved(settings_module: str = "shopsmart.settings.base", **env: str) -> dict[str, object]:
    result = run_python(PROBE, settings_module, **env)
    assert result.returncode == 0, result.stderr
    values: dict[str, object] = json.loads(result.stdout)
    return values


def test_no_environment_means_sqlite_local_memory_cache_and_eager_tasks():
    settings = resolved()
    assert settings["db"] == "django.db.backends.sqlite3"
    assert settings["db_name"] == str(ROOT / "var" / "shopsmart.sqlite3")
    assert settings["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert settings["eager"] is True
    assert settings["debug"] is True


def test_environment_switches_to_postgres_redis_and_a_real_broker():
    settings = resolved(
        DATABASE_URL="postgres://shop@db.internal:5432/shop",
        REDIS_URL="redis://cache.internal:6379/0",
        CELERY_BROKER_URL="amqp://guest:guest@mq.internal:5672//",
        DEBUG="false",
        ALLOWED_HOSTS="shop.example.com,www.shop.example.com",
    )
    assert settings["db"] == "infrastructure.postgresql"  # Django's, with a cheaper health check
    assert settings["db_name"] == "shop"
    assert settings["cache"] == "django_redis.cache.RedisCache"
    assert settings["eager"] is False
    assert settings["broker"] == "amqp://guest:guest@mq.internal:5672//"
    assert settings["debug"] is False
    assert settings["hosts"] == ["shop.example.com", "www.shop.example.com"]


PREPARED_PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "o = s.DATABASES['default']['OPTIONS']; "
    "print(o.get('server_side_binding'), o.get('prepare_threshold'))"
)


def test_prepared_statements_are_on_for_postgres_unless_turned_off():
    postgres = {"DATABASE_URL": "postgres://shop@db.internal:5432/shop"}
    assert run_python(PREPARED_PROBE, "shopsmart.settings.base", **postgres).stdout.split() == [
        "True",
        "5",
    ]
    turned_off = run_python(
        PREPARED_PROBE, "shopsmart.settings.base", **postgres, DB_PREPARED_STATEMENTS="false"
    )
    assert turned_off.stdout.split() == ["None", "None"]


@pytest.mark.django_db
def test_on_postgres_a_statement_run_often_is_planned_once():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    query = "SELECT count(*) FROM django_content_type WHERE app_label = %s"
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute(query, ["catalog"])
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("django_content_type" in statement for statement in prepared)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALLOWED_HOSTS": "shop.example.com"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": STRONG_KEY}, "ALLOWED_HOSTS must be set"),
        ({"SECRET_KEY": "short", "ALLOWED_HOSTS": "shop.example.com"}, "too weak"),
        (
            {"SECRET_KEY": "django-insecure-" + "a1b2c3d4" * 8, "ALLOWED_HOSTS": "x.example"},
            "too weak",
        ),
    ],
)
def test_production_refuses_to_start_without_real_secrets(env, message):
    result = run_python(PROBE, "shopsmart.settings.production", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = run_python(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        "shopsmart.settings.production",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="shop.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
    settings = resolved(
        "shopsmart.settings.production", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="shop.example.com"
    )
    assert settings["debug"] is False


def test_a_web_process_loads_every_view_before_its_first_request():
    """The URLconf (and the views' modules it imports) loads with the WSGI application, not
    on the first shopper's request."""
    result = run_python(
        "import sys, shopsmart.wsgi; "
        "print('shopsmart.urls' in sys.modules, 'recommender.api' in sys.modules)",
        "shopsmart.settings.base",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_a_web_process_keeps_what_it_loaded_out_of_the_collectors_walks():
    """Full collections walk only what requests left behind, not the loaded application
    (they paused a worker for 200 ms)."""
    result = run_python(
        "import gc, shopsmart.wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))",
        "shopsmart.settings.base",
    )
    assert result.returncode == 0, result.stderr
    frozen, walked = map(int, result.stdout.split())
    assert frozen > 10 * walked
