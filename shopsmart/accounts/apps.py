from __future__ import annotations

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out


class AccountsConfig(AppConfig):
    """Shoppers' accounts (django.contrib.auth): signing in carries the browser's anonymous
    history and guest orders over to the account; signing out leaves nothing of it behind."""

    name = "shopsmart.accounts"
    label = "accounts"

    def ready(self) -> None:
        from shopsmart.accounts import receivers

        user_logged_in.connect(receivers.signed_in, dispatch_uid="accounts-signed-in")
        user_logged_out.connect(receivers.signed_out, dispatch_uid="accounts-signed-out")
