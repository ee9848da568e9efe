"""`{{ amount|money }}`: an amount in the shop's currency, as its shoppers write it."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_symbol
from django import template
from django.conf import settings

register = template.Library()


@register.filter
def money(amount: Decimal | float | int | str | None) -> str:
    """ "£1,234.50" for Decimal("1234.5") in a GBP shop (two decimals, the currency's symbol,
    on every database: SQLite sums decimals as floats). Empty for no amount."""
    if amount is None or amount == "":
        return ""
    return format_currency(
        Decimal(str(amount)), settings.SHOP_CURRENCY, locale=_locale(settings.SHOP_LOCALE)
    )


@lru_cache(maxsize=8)
def _locale(name: str) -> Locale:
    """The parsed locale (a page formats dozens of prices: parse it once)."""
    return Locale.parse(name)


@register.simple_tag
def currency_symbol() -> str:
    return get_currency_symbol(settings.SHOP_CURRENCY, locale=settings.SHOP_LOCALE)
