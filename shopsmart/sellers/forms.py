from __future__ import annotations

from decimal import Decimal

from django import forms

from catalog.models import Category, Product
from catalog.services import SELLER_PRODUCT_FIELDS


class SellerProductForm(forms.ModelForm[Product]):
    """A seller's product on the seller pages: the fields the API takes, saved by the same
    service (catalog.services.seller_product_save), whose field errors the form shows."""

    price = forms.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    stock = forms.IntegerField(min_value=0, max_value=1_000_000)
    image_url = forms.URLField(
        label="Image address",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="An http(s) address of the product's picture.",
    )
    category = forms.ModelChoiceField(queryset=Category.objects.order_by("name"))

    class Meta:
        model = Product
        fields = [f for f in SELLER_PRODUCT_FIELDS if f != "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}
