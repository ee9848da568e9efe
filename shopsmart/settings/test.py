"""Settings for the test suite: the base settings, honouring DATABASE_URL / REDIS_URL when set."""

from __future__ import annotations

from shopsmart.settings.base import *  # noqa: F403

# Hashing passwords slowly is a production property, not something tests need to wait for.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests share a Redis server with whoever runs them: keep their keys apart.
for _cache in CACHES.values():
    _cache["KEY_PREFIX"] = "shopsmart-test"
