"""The catalog's API representations. Cards come from catalog.selectors.product_card, so a
product looks the same in every list, cached or not; the fields below document them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.models import Product
from catalog.selectors import ProductOrdering, product_card
from infrastructure.api.parameters import QueryParameters


class CategoryCardSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()


class CategoryNodeSerializer(CategoryCardSerializer):
    children = serializers.ListField(child=serializers.DictField(), help_text="Sub-categories.")


class ProductCardSerializer(serializers.Serializer[Product]):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True, help_text="The merchant's own id.")
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    url = serializers.CharField(help_text="The product's page.")
    image_url = serializers.CharField()
    category = CategoryCardSerializer()

    def to_representation(self, instance: Product) -> dict[str, Any]:
        return dict(product_card(instance))


class CachedCardSerializer(ProductCardSerializer):
    """A card already made (a cached page of a listing): passed on as it is."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return dict(instance)


class ProductDetailSerializer(ProductCardSerializer):
    description = serializers.CharField()
    stock = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    average_rating = serializers.DecimalField(max_digits=3, decimal_places=2)
    review_count = serializers.IntegerField()

    def to_representation(self, instance: Product) -> dict[str, Any]:
        return super().to_representation(instance) | {
            "description": instance.description,
            "stock": instance.stock,
            "in_stock": instance.in_stock,
            "average_rating": f"{instance.average_rating:.2f}",
            "review_count": instance.review_count,
        }


class ProductQuerySerializer(QueryParameters):
    also_accepted = ("page", "page_size")

    search = serializers.CharField(required=False, max_length=200, allow_blank=True)
    category = serializers.CharField(
        required=False, max_length=140, help_text="A category id or slug (sub-categories too)."
    )
    min_price = serializers.DecimalField(
        required=False, max_digits=10, decimal_places=2, min_value=0
    )
    max_price = serializers.DecimalField(
        required=False, max_digits=10, decimal_places=2, min_value=0
    )
    ordering = serializers.ChoiceField(required=False, choices=ProductOrdering.choices)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_price": ["Must not be below min_price."]})
        return attrs
