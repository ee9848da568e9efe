from __future__ import annotations

from django.conf import settings
from django.db import models


class VerifiedEmail(models.Model):
    """The address the account's owner proved they read (they opened the link sent to it).
    The account's email is verified while it is still this address."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verified_email"
    )
    email = models.EmailField()
    verified_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.email
