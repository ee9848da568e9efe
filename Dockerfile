# ShopSmart web image: gunicorn serving Django, static files collected and served by WhiteNoise.
# The same image runs the Celery worker and beat (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=shopsmart.settings.production \
    STATIC_ROOT=/app/staticfiles \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-metrics

WORKDIR /app

RUN groupadd --system shop && useradd --system --gid shop --home-dir /app --no-create-home shop

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --chown=shop:shop . .

# Collect static files with the production storage (hashed, compressed names). The throw-away
# key and host exist only for this build step: production.py refuses to start without real ones.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --no-input --verbosity 0 \
    && mkdir -p /app/var && chown -R shop:shop /app/var /app/staticfiles

USER shop
EXPOSE 8000

CMD ["gunicorn", "shopsmart.wsgi", "--config", "python:shopsmart.gunicorn_conf", \
     "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "30"]
