"""The storefront's forms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from catalog.cart import MAX_QUANTITY
from catalog.models import Category

SEARCH_MAX_LENGTH = 200


class SearchForm(forms.Form):
    """The header's search box and the results page's filters (all optional)."""

    q = forms.CharField(label="Search", required=False, max_length=SEARCH_MAX_LENGTH)
    category = forms.ModelChoiceField(
        queryset=Category.objects.order_by("name"),
        required=False,
        to_field_name="slug",
        empty_label="All categories",
    )
    min_price = forms.DecimalField(
        label="From £", required=False, min_value=Decimal(0), max_digits=10, decimal_places=2
    )
    max_price = forms.DecimalField(
        label="To £", required=False, min_value=Decimal(0), max_digits=10, decimal_places=2
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "Must not be below the lowest price.")
        return cleaned


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(label="Quantity", min_value=0, max_value=MAX_QUANTITY)
