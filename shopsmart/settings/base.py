"""Settings shared by every environment.

With no environment variables at all the store runs on a SQLite file under var/, Django's
local-memory cache and eager (in-process) Celery tasks, so a newcomer needs no servers. Setting
DATABASE_URL, REDIS_URL and CELERY_BROKER_URL switches to PostgreSQL, Redis and a real broker.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import structlog
from django.core.exceptions import ImproperlyConfigured

from shopsmart.settings.env import BASE_DIR, VAR_DIR, env

# Lets generic classes such as admin.ModelAdmin[Product] be subscripted at run time.
django_stubs_ext.monkeypatch()

VAR_DIR.mkdir(exist_ok=True)

# An insecure key is fine for a laptop; production.py refuses to start without a real one.
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-local-development-key-change-me")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_structlog",
    "axes",
    "catalog",
    "tracking",
    "recommender",
    "dashboard",
    "shopsmart.api",
    "shopsmart.accounts",
    "infrastructure.outbox",
    "infrastructure.mail",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "shopsmart.security.ContentSecurityPolicyMiddleware",
    "shopsmart.errors.DatabaseUnavailableMiddleware",
    # A request's Redis writes (cached answers, impressions) in one round trip as it ends.
    "infrastructure.writes.RedisWritesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "shopsmart.metrics.RequestMetricsMiddleware",
    "tracking.middleware.VisitorCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in with the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Only the site's own scripts, styles, images and fonts (product images may be any https
# URL an import gave; placeholders and charts are the site's own SVG, icons data: URLs),
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # and the Swagger UI page's own <style> block (drf-spectacular's template, pinned)
        "style-src 'self' 'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='",
        "img-src 'self' data: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

ROOT_URLCONF = "shopsmart.urls"
WSGI_APPLICATION = "shopsmart.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES: dict[str, dict[str, Any]] = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'shopsmart.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections with health checks: a restarted server costs one failed check,
    # not a failed request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django's backend, with a health check that polls the socket before it asks the server.
    DATABASES["default"]["ENGINE"] = "infrastructure.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DB_CONNECT_TIMEOUT", default=5
    )
    # Fuzzy search: how alike a search and a word of a product name must be (0.6 by default,
    # too strict for shoppers' typos: "tepot" finds "teapot" at 0.4).
    DATABASES["default"]["OPTIONS"]["options"] = "-c pg_trgm.word_similarity_threshold=" + (
        env.str("SEARCH_SIMILARITY_THRESHOLD", default="0.4")
    )
    # Parameters bound on the server, and a statement run 5 times on a connection prepared:
    # PostgreSQL then plans it once, not on every run (planning was half of a recommendation
    # miss's history read). Off (DB_PREPARED_STATEMENTS=false) behind a PgBouncer in
    # transaction mode, which cannot keep a connection's prepared statements.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
    # Web processes set it (the Dockerfile does) so a stuck query fails its request fast;
    # workers and commands leave it off, as their pipelines read millions of rows.
    if statement_timeout := env.int("DB_STATEMENT_TIMEOUT_MS", default=0):
        DATABASES["default"]["OPTIONS"]["options"] += f" -c statement_timeout={statement_timeout}"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The zero-configuration store runs beat's jobs in a second process next to the web one:
    # WAL lets pages read while a pipeline writes, IMMEDIATE transactions take the write
    # lock up front (a deferred one upgrading to a writer fails at once with "database is
    # locked" instead of waiting) and a writer waits up to 20 s for the other to commit.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="shopsmart"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.5,
                # The cache only speeds things up: when Redis is down every read misses and
                # every write is skipped (and logged), and the database answers.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "shopsmart.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions (the cart, sign-in) are kept in the database, the source of truth, and read through
# the cache; with the cache down they are read from the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Celery -------------------------------------------------------------------------------------
# Without a broker, tasks run in-process when they are sent, so the store works with no servers.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
# Results are only needed by chords (the distributed similarity job): Redis when it is there.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or REDIS_URL or None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Sending with the broker down gives up after one connection retry instead of four seconds of
# them, so no request waits on it: what must reach a worker is kept in the outbox and re-sent.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0.2}
# A task is acknowledged after it ran, one at a time per worker process, so a killed worker's
# task is delivered again instead of being lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# When the broker connection drops, a running task goes on to its end. Its message is delivered
# again, and that copy is refused by the pipeline's run claim while the run is active, so a
# broker blip does not throw away a long run (Celery's future default would cancel it).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed sign-ins (the shop's and the admin's) are counted in the database, not the cache,
# so the lockout holds with Redis down. A username is locked from the address that failed
# with it (not everywhere: a stranger could otherwise lock anyone out) for a cool-off time.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The page for browsers, JSON for API clients; both 429 with Retry-After.
AXES_LOCKOUT_CALLABLE = "shopsmart.accounts.lockout.locked_out"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "account"
LOGOUT_REDIRECT_URL = "catalog:home"

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# The shop's currency (ISO 4217) and the locale its amounts are written in: every price and
# figure is shown as, say, "£1,234.50" (catalog/templatetags/money.py).
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="GBP")
SHOP_LOCALE = env.str("SHOP_LOCALE", default="en_GB")

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
# WhiteNoise warns on every start while collectstatic has not run yet.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: a request without credentials answers 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "shopsmart.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["infrastructure.api.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "shopsmart.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "events": env.str("THROTTLE_EVENTS", default="600/minute"),
        "search": env.str("THROTTLE_SEARCH", default="120/minute"),
        # Sign-in and sign-up over the API, per client address.
        "auth": env.str("THROTTLE_AUTH", default="20/minute"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=None),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ShopSmart API",
    "DESCRIPTION": (
        "Products, trending products, similar products and personalised recommendations with "
        "their reasons, and event ingestion. Personalised endpoints take an API token "
        "(`Authorization: Token <key>`) or the shopper's own visitor cookie."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EventTypeEnum": "tracking.models.EventType",
        "TrendingWindowEnum": "recommender.models.TrendingWindow",
    },
}

# The first-party cookie that identifies a shopper's browser (a random id, also the Visitor's
# external_id): the storefront sets it, and it lets the browser read its own recommendations.
VISITOR_COOKIE_NAME = env.str("VISITOR_COOKIE_NAME", default="shopsmart_visitor")
VISITOR_COOKIE_SECURE = env.bool("VISITOR_COOKIE_SECURE", default=False)  # True in production
# Checkout's payment methods, offered in this order (see catalog.payments to add a provider).
PAYMENT_METHODS = ["catalog.payments.PayOnDelivery"]
# Prefix for the absolute product and image URLs of API responses ("" keeps them relative).
SITE_URL = env.str("SITE_URL", default="").rstrip("/")
# Seconds each cached answer lives: a visitor's list goes stale fastest, trending next, a
# product's neighbours change only nightly. Events and pipeline runs invalidate them sooner.
CACHE_TTL_RECOMMENDATIONS = env.int("CACHE_TTL_RECOMMENDATIONS", default=5 * 60)
CACHE_TTL_SIMILAR = env.int("CACHE_TTL_SIMILAR", default=60 * 60)
CACHE_TTL_TRENDING = env.int("CACHE_TTL_TRENDING", default=15 * 60)
# A page of a listing or search (invalidated by any catalog change anyway).
CACHE_TTL_SEARCH = env.int("CACHE_TTL_SEARCH", default=60 * 60)

# --- Logging ------------------------------------------------------------------------------------
# Logs are JSON lines (one object per record, for a log collector) with the request id bound
# to every record of a request, and carried into the Celery tasks it enqueues
# (django-structlog); LOG_FORMAT=console prints them for people instead.
# Prometheus metrics at /metrics (shopsmart.metrics): open in development; production keeps
# them for staff sessions and for scrapers sending `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=True)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

DJANGO_STRUCTLOG_CELERY_ENABLED = True
# Behind a proxy that stamps X-Request-ID, keep its id so its logs and ours join up; a client
# could send anything, so it is off unless the proxy is there.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = env.bool("TRUST_UPSTREAM_REQUEST_ID", default=False)
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processor": structlog.processors.JSONRenderer(),
            # Records from plain `logging` loggers (Django's, Celery's) get the same fields.
            "foreign_pre_chain": [
                structlog.contextvars.merge_contextvars,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.stdlib.add_logger_name,
                structlog.stdlib.add_log_level,
                structlog.stdlib.ExtraAdder(),
            ],
        },
        "console": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processor": structlog.dev.ConsoleRenderer(colors=False),
            "foreign_pre_chain": [
                structlog.contextvars.merge_contextvars,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.stdlib.add_logger_name,
                structlog.stdlib.add_log_level,
            ],
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)

# Recommendations. The share of content (TF-IDF) similarity blended into the item-to-item
# neighbours (products nobody has interacted with yet always use their content neighbours),
# chosen from the weekly evaluation (docs/benchmarks.md); and an optional cap on products of
# one category per list, off unless set.
RECOMMENDER_CONTENT_WEIGHT = env.float("RECOMMENDER_CONTENT_WEIGHT", default=0.0)
RECOMMENDER_MAX_PER_CATEGORY: int | None = env.int("RECOMMENDER_MAX_PER_CATEGORY", default=None)
# Behavioural neighbours: "auto" is EASE up to 10,000 products with events, cosine beyond;
# EASE's L2 penalty, and how buy-again weighs repeat purchases (docs/recommender.md tells how
# these were chosen).
RECOMMENDER_SIMILARITY_METHOD = env.str("RECOMMENDER_SIMILARITY_METHOD", default="auto")
RECOMMENDER_EASE_L2 = env.float("RECOMMENDER_EASE_L2", default=200.0)
RECOMMENDER_REPEAT_WEIGHT = env.float("RECOMMENDER_REPEAT_WEIGHT", default=2.0)
RECOMMENDER_REPEAT_HALF_LIFE_DAYS = env.float("RECOMMENDER_REPEAT_HALF_LIFE_DAYS", default=180.0)

# Email: printed to the console with no configuration; in production an SMTP server from
# EMAIL_URL (smtp://user:password@host:25, smtp+tls://…:587, smtp+ssl://…:465). Sent by a
# Celery task through the outbox (infrastructure.mail), so an outage delays mail, never loses it.
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ShopSmart <shop@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# A new account is sent a link proving its address ("optional": shopping never waits for it;
# "none": nothing is sent). shopsmart.accounts.verification.
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
if ACCOUNT_EMAIL_VERIFICATION not in ("optional", "none"):
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION is 'optional' or 'none'.")
