"""API token authentication without a database query per request.

DRF's TokenAuthentication reads the token and its user on every request. Here a valid token's
user is remembered in the cache for a few minutes (under a hash of the key: the cache never
holds a credential) and rebuilt as if loaded with `.only()`: the fields access needs are
there, any other field is loaded on first use, and a save() writes only the loaded fields.
Whether the token's user may act for any visitor (a permission) is remembered with it.
Deleting a token, or changing or deleting its user (deactivation, staff rights), forgets the
entry at once (receivers in shopsmart.api.apps); the TTL bounds anything changed behind the
ORM's back, and a change to a user's groups or permissions (at most CACHE_SECONDS).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import router
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from infrastructure.api.grants import ACT_FOR_VISITORS, ACTS_FOR_VISITORS_ATTRIBUTE

CACHE_SECONDS = 5 * 60
# In the model's field order: Model.from_db() reads a subset of the fields' values in that order.
USER_FIELDS = tuple(
    field.attname
    for field in User._meta.concrete_fields
    if field.attname in {"id", "username", "is_active", "is_staff", "is_superuser"}
)


def token_cache_key(key: str) -> str:
    return "auth:token:" + hashlib.sha256(key.encode()).hexdigest()


def token_forget(key: str) -> None:
    cache.delete(token_cache_key(key))


class CachedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, answered from the cache when the key was seen lately."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        cache_key = token_cache_key(key)
        remembered = cache.get(cache_key)
        if remembered is not None:
            created, user_values, acts = remembered
            return _rebuilt(key, created, user_values, acts)
        user, token = super().authenticate_credentials(key)  # raises for bad or inactive ones
        user_values = tuple(getattr(user, field) for field in USER_FIELDS)
        acts = user.has_perm(ACT_FOR_VISITORS)
        setattr(token, ACTS_FOR_VISITORS_ATTRIBUTE, acts)
        cache.set(cache_key, (token.created, user_values, acts), timeout=CACHE_SECONDS)
        return user, token


def _rebuilt(
    key: str, created: Any, user_values: tuple[Any, ...], acts: bool
) -> tuple[User, Token]:
    database = router.db_for_read(User)
    user = User.from_db(database, list(USER_FIELDS), list(user_values))
    token = Token.from_db(database, ["key", "user_id", "created"], [key, user.pk, created])
    token.user = user
    setattr(token, ACTS_FOR_VISITORS_ATTRIBUTE, acts)
    return user, token
