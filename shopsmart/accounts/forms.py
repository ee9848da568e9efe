from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.forms import (
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    UserCreationForm,
)
from django.contrib.auth.models import User

from infrastructure.mail.services import email_queue
from shopsmart.accounts.services import tokens_revoke


class SignupForm(UserCreationForm[User]):
    email = forms.EmailField(label="Email", help_text="For your order confirmations.")
    first_name = forms.CharField(label="First name", max_length=150, required=False)

    class Meta:
        model = User
        fields = ("username", "email", "first_name")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists: sign in.")
        return email


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's password reset, its email sent through the outbox like every email of the shop
    (infrastructure.mail): an SMTP outage delays the link, never loses it."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        email_queue(
            key=f"password-reset:{context['uid']}:{context['token']}",
            to=to_email,
            template="emails/password_reset",
            context=context,
        )


class SignOutEverywhere:
    """A new password ends every API session of the account (its tokens), as Django ends its
    other browser sessions."""

    user: User

    def save(self, commit: bool = True) -> User:
        user: User = super().save(commit)  # type: ignore[misc]
        if commit:
            tokens_revoke(user=user)
        return user


class PasswordChangeEverywhereForm(SignOutEverywhere, PasswordChangeForm):
    pass


if TYPE_CHECKING:  # generic for the type checker only (not subscriptable at run time)
    _SetPasswordForm = SetPasswordForm[User]
else:
    _SetPasswordForm = SetPasswordForm


class PasswordResetEverywhereForm(SignOutEverywhere, _SetPasswordForm):
    pass
