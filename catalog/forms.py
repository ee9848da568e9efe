"""The storefront's forms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.text import format_lazy

from catalog.cart import MAX_QUANTITY
from catalog.models import Category, Product
from catalog.payments import payment_methods
from catalog.selectors import ProductOrdering
from catalog.services import CheckoutDetails
from catalog.templatetags.money import currency_symbol

SEARCH_MAX_LENGTH = 200
# The product and its "frequently bought together" products.
MAX_BOUGHT_TOGETHER = 4


# Relevance is the search's own default, not a choice.
SORT_CHOICES = [
    (value, label) for value, label in ProductOrdering.choices if value != ProductOrdering.RELEVANCE
]


class ProductFilterForm(forms.Form):
    """A listing's sorting and price range (all optional)."""

    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[("", "Name"), *SORT_CHOICES],
    )
    min_price = forms.DecimalField(
        label=format_lazy("From {}", lazy(currency_symbol, str)()),
        required=False,
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=2,
    )
    max_price = forms.DecimalField(
        label=format_lazy("To {}", lazy(currency_symbol, str)()),
        required=False,
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=2,
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "Must not be below the lowest price.")
        return cleaned


class SearchForm(ProductFilterForm):
    """The header's search box and the results page's filters (all optional)."""

    q = forms.CharField(label="Search", required=False, max_length=SEARCH_MAX_LENGTH)
    category = forms.ModelChoiceField(
        queryset=Category.objects.order_by("name"),
        required=False,
        to_field_name="slug",
        empty_label="All categories",
    )
    field_order = ["q", "category", "sort", "min_price", "max_price"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Best match first unless the shopper chose another order.
        sort: forms.ChoiceField = self.fields["sort"]  # type: ignore[assignment]
        sort.choices = [("", "Best match"), *SORT_CHOICES]


class BoughtTogetherForm(forms.Form):
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.all(), widget=forms.CheckboxSelectMultiple
    )

    def clean_products(self) -> list[Product]:
        products: list[Product] = list(self.cleaned_data["products"])
        if len(products) > MAX_BOUGHT_TOGETHER:
            raise forms.ValidationError(f"At most {MAX_BOUGHT_TOGETHER} products at once.")
        return products


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(label="Quantity", min_value=0, max_value=MAX_QUANTITY)


class CheckoutForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email")
    address = forms.CharField(
        label="Delivery address", max_length=1000, widget=forms.Textarea(attrs={"rows": 4})
    )
    payment_method = forms.ChoiceField(label="Payment", widget=forms.RadioSelect)
    # The form's idempotency key: submitting this form again places no second order.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        methods = payment_methods().values()
        field = self.fields["payment_method"]
        field.choices = [(m.code, f"{m.label}: {m.description}") for m in methods]  # type: ignore[attr-defined]
        field.initial = next(iter(payment_methods()), None)

    def details(self) -> CheckoutDetails:
        data = self.cleaned_data
        return CheckoutDetails(
            full_name=data["full_name"].strip(),
            email=data["email"],
            address=data["address"].strip(),
            payment_method=data["payment_method"],
        )


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label="Your rating",
        choices=[(n, f"{n} star{'s' if n > 1 else ''}") for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="Your review",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
