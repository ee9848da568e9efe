"""Writes of shoppers' accounts."""

from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token


def tokens_revoke(*, user: User) -> int:
    """End every API session of the account (its cached authentication is forgotten by the
    token's delete receiver); returns how many there were."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
