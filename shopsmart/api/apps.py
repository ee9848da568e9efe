from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save


class ApiConfig(AppConfig):
    """The JSON API's own wiring: cached token authentication is forgotten on every change of
    a token or of its user, in whichever process makes it (admin, commands, API)."""

    name = "shopsmart.api"
    label = "shopsmart_api"

    def ready(self) -> None:
        from django.contrib.auth.models import Group, User
        from rest_framework.authtoken.models import Token

        post_save.connect(_token_changed, sender=Token, dispatch_uid="api-token-saved")
        post_delete.connect(_token_changed, sender=Token, dispatch_uid="api-token-deleted")
        post_save.connect(_user_changed, sender=User, dispatch_uid="api-token-user-saved")
        # What a token may do follows its user's groups and permissions.
        for through in (User.groups.through, User.user_permissions.through):
            m2m_changed.connect(_rights_changed, sender=through, dispatch_uid=f"api-{through}")
        m2m_changed.connect(
            _rights_changed, sender=Group.permissions.through, dispatch_uid="api-group-perms"
        )


def _token_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    _forget([instance.key])


def _user_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    _tokens_forget([instance.pk])


def _rights_changed(
    sender: type, instance: Any, action: str, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A user's groups or permissions, or a group's permissions, changed."""
    from django.contrib.auth.models import Group, User

    if not action.startswith("post_"):
        return
    if isinstance(instance, User):
        _tokens_forget([instance.pk])
    elif isinstance(instance, Group):
        _tokens_forget(list(instance.user_set.values_list("pk", flat=True)))
        if pk_set and sender is User.groups.through:
            _tokens_forget(list(pk_set))
    elif pk_set:  # a permission's users or groups changed (the reverse side)
        users = User.objects.filter(Q(pk__in=pk_set) | Q(groups__in=pk_set)).distinct()
        _tokens_forget(list(users.values_list("pk", flat=True)))


def _tokens_forget(user_ids: list[int]) -> None:
    from rest_framework.authtoken.models import Token

    _forget(list(Token.objects.filter(user_id__in=user_ids).values_list("key", flat=True)))


def _forget(keys: list[str]) -> None:
    """Forget the tokens now, and again once the change commits: a process that read one
    in between (it still saw the row as it was) would otherwise keep it until its TTL."""
    from shopsmart.api.authentication import token_forget

    def forget() -> None:
        for key in keys:
            token_forget(key)

    forget()
    if keys:
        transaction.on_commit(forget)
