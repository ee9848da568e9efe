"""Email verification at sign-up, optional: the new account is sent a link that proves its
owner reads the address; shopping never waits for it (ACCOUNT_EMAIL_VERIFICATION: "optional",
the default, or "none" to send nothing).

The link carries a token signed with the site's secret (django.core.signing) naming the account
and the address, valid for a few days; it verifies that address only while the account still
has it. Opening it twice is harmless.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from infrastructure.mail.services import email_queue
from shopsmart.accounts.models import VerifiedEmail

SALT = "shopsmart.accounts.email-verification"
LINK_LIFETIME = timedelta(days=3)
OPTIONAL, NONE = "optional", "none"


class VerificationError(ValueError):
    """A link that verifies nothing, with a message for the shopper."""


def verification_enabled() -> bool:
    return bool(settings.ACCOUNT_EMAIL_VERIFICATION != NONE)


def email_verification_token(*, user: User) -> str:
    return signing.dumps({"user": user.pk, "email": user.email.lower()}, salt=SALT, compress=True)


def email_verification_send(*, user: User, site: str) -> bool:
    """Queue the link to the account's address (through the outbox), unless it is verified
    already or verification is off; `site` is the shop's scheme and host. Asked again within
    the same minute, nothing more is sent. True when a link is (or was just) queued."""
    if not verification_enabled() or not user.email or email_is_verified(user=user):
        return False
    token = email_verification_token(user=user)
    address = hashlib.sha256(user.email.lower().encode()).hexdigest()[:16]
    minute = timezone.now().strftime("%Y%m%d%H%M")
    email_queue(
        key=f"verify-email:{user.pk}:{address}:{minute}",
        to=user.email,
        template="emails/verify_email",
        context={
            "user": user,
            "link": f"{site}{reverse('email_verify', kwargs={'token': token})}",
            "days": LINK_LIFETIME.days,
        },
    )
    return True


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Mark the address the token names as verified for its account (again: no change)."""
    try:
        claim = signing.loads(token, salt=SALT, max_age=LINK_LIFETIME)
    except signing.SignatureExpired as error:
        raise VerificationError("This link has expired: ask for a new one.") from error
    except signing.BadSignature as error:
        raise VerificationError("This link is not one we sent (or it was cut short).") from error
    user = User.objects.filter(pk=claim["user"], is_active=True).first()
    if user is None or user.email.lower() != claim["email"]:
        raise VerificationError("This link is for an address the account no longer has.")
    VerifiedEmail.objects.update_or_create(user=user, defaults={"email": user.email})
    return user


def email_is_verified(*, user: User) -> bool:
    return VerifiedEmail.objects.filter(user=user, email__iexact=user.email).exists()


def site_root(request_root: str) -> str:
    """Where links in emails point: SITE_URL when set, else the host the request came to."""
    return settings.SITE_URL or request_root.rstrip("/")
