from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ApiConfig(AppConfig):
    """The JSON API's own wiring: cached token authentication is forgotten on every change of
    a token or of its user, in whichever process makes it (admin, commands, API)."""

    name = "shopsmart.api"
    label = "shopsmart_api"

    def ready(self) -> None:
        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        post_save.connect(_token_changed, sender=Token, dispatch_uid="api-token-saved")
        post_delete.connect(_token_changed, sender=Token, dispatch_uid="api-token-deleted")
        post_save.connect(_user_changed, sender=User, dispatch_uid="api-token-user-saved")


def _token_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    from shopsmart.api.authentication import token_forget

    token_forget(instance.key)


def _user_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    from rest_framework.authtoken.models import Token

    from shopsmart.api.authentication import token_forget

    for key in Token.objects.filter(user_id=instance.pk).values_list("key", flat=True):
        token_forget(key)
