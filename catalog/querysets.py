from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from catalog.models import Product  # noqa: F401 (named in the generic base below)


class ProductQuerySet(models.QuerySet["Product"]):
    def with_category(self) -> ProductQuerySet:
        return self.select_related("category")

    def active(self) -> ProductQuerySet:
        return self.filter(is_active=True)

    def browsable(self) -> ProductQuerySet:
        """What a shopper may be shown: active, in stock, with its category fetched in one go."""
        return self.active().filter(stock__gt=0).with_category()
