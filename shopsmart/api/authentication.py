"""API token authentication without a database query, or a cache round trip, per request.

DRF's TokenAuthentication reads the token and its user on every request. Here a valid token's
user is remembered in the cache for a few minutes (under a hash of the key: the cache never
holds a credential) and rebuilt as if loaded with `.only()`: the fields access needs are
there, any other field is loaded on first use, and a save() writes only the loaded fields.
Whether the token's user may act for any visitor (a permission) is remembered with it. Each
web process also keeps what it read in its own memory (infrastructure.process_memory), so a
client's every request after its first is authenticated without leaving the process: on a
cache hit that was one of its three Redis round trips.

Deleting a token, or changing or deleting its user (deactivation, staff rights), forgets the
entry at once in the cache and in every process's memory (receivers in shopsmart.api.apps),
and again once the change commits (a process reading the token between the two would
otherwise remember the row as it was). Anything changed behind the ORM's back is seen within
the two TTLs: CACHE_SECONDS in the cache, then MEMORY_SECONDS in a process.
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
from infrastructure.process_memory import ProcessMemory

CACHE_SECONDS = 5 * 60
MEMORY_SECONDS = 60
# (created, the user's USER_FIELDS values, whether it may act for any visitor)
Remembered = tuple[Any, tuple[Any, ...], bool]
# A few hundred bytes each: the API clients of a store, with room to spare.
_memory: ProcessMemory[Remembered] = ProcessMemory(
    "api-token", seconds=MEMORY_SECONDS, entries=10_000
)
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
    _memory.forget(token_cache_key(key))


def tokens_memory_clear() -> None:
    """Empty this process's memory of tokens (tests start from nothing)."""
    _memory.clear()


class CachedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, answered from the cache when the key was seen lately."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        cache_key = token_cache_key(key)
        remembered, mark = _memory.recall(cache_key)
        if remembered is None:
            remembered = cache.get(cache_key)
            if remembered is not None:
                _memory.keep(cache_key, remembered, mark)
        if remembered is not None:
            created, user_values, acts = remembered
            return _rebuilt(key, created, user_values, acts)
        user, token = super().authenticate_credentials(key)  # raises for bad or inactive ones
        user_values = tuple(getattr(user, field) for field in USER_FIELDS)
        acts = user.has_perm(ACT_FOR_VISITORS)
        setattr(token, ACTS_FOR_VISITORS_ATTRIBUTE, acts)
        remembered = (token.created, user_values, acts)
        cache.set(cache_key, remembered, timeout=CACHE_SECONDS)
        _memory.keep(cache_key, remembered, mark)
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
