from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from catalog.models import Product  # noqa: F401 (named in the generic base below)


def browsable_q(relation: str = "") -> Q:
    """What a shopper may be shown: an active product in stock (the product at the end of
    `relation`, if given). The one definition of the rule; the helpers below restate it for
    rows already read and for hand-written SQL, and a test holds the three together."""
    prefix = f"{relation}__" if relation else ""
    return Q(**{f"{prefix}is_active": True, f"{prefix}stock__gt": 0})


def is_browsable(*, is_active: bool, stock: int) -> bool:
    """browsable_q() for a product's columns already read."""
    return is_active and stock > 0


def browsable_sql(table: str) -> str:
    """browsable_q() as a SQL condition on the product table's alias `table`."""
    return f"({table}.is_active AND {table}.stock > 0)"


class ProductQuerySet(models.QuerySet["Product"]):
    def with_category(self) -> ProductQuerySet:
        return self.select_related("category")

    def active(self) -> ProductQuerySet:
        return self.filter(is_active=True)

    def browsable(self) -> ProductQuerySet:
        """What a shopper may be shown: active, in stock, with its category fetched in one go."""
        return self.filter(browsable_q()).with_category()
