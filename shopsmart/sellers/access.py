"""Who is a seller: an account with the Seller role's permission and a seller profile."""

from __future__ import annotations

from typing import Any

from catalog.models import SellerProfile

SELL = "catalog.sell"


def seller_of(user: Any) -> SellerProfile | None:
    """The account's seller profile if it may sell (signed in, the permission, a profile)."""
    if not (user and user.is_authenticated and user.has_perm(SELL)):
        return None
    return SellerProfile.objects.filter(user=user).first()
