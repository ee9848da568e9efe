"""The recommender's API parameters and the documented shape of its answers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.serializers import CategoryCardSerializer, ProductCardSerializer
from infrastructure.api.access import VISITOR_MAX_LENGTH
from infrastructure.api.parameters import QueryParameters
from recommender.models import MerchandisingRule, Surface, TrendingWindow
from recommender.serving import (
    MAX_K,
    ReasonType,
    RecommendationScenario,
    RecommendationStrategy,
    SimilarStrategy,
)


def k_field(default: int) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, default=default, min_value=1, max_value=MAX_K, help_text="List length."
    )


class RecommendationQuerySerializer(QueryParameters):
    visitor = serializers.CharField(
        required=False,
        max_length=VISITOR_MAX_LENGTH,
        help_text="The visitor's external id; required with a token, else the cookie's visitor.",
    )
    k = k_field(10)
    category = serializers.CharField(
        required=False, max_length=140, help_text="Fill from this category (id or slug)."
    )
    include_interacted = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Let products the visitor already interacted with back in (buy it again).",
    )
    max_per_category = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_K,
        help_text="At most this many products of one category (default: the shop's cap, set "
        "by staff in the merchandising settings; none unless set).",
    )
    scenario = serializers.ChoiceField(
        choices=RecommendationScenario.choices,
        required=False,
        default=RecommendationScenario.RECOMMENDED,
        help_text="buy_again: only the visitor's own purchases, by frequency and recency.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("max_per_category", None)
        return attrs


class SimilarQuerySerializer(QueryParameters):
    k = k_field(10)
    visitor = serializers.CharField(
        required=False,
        max_length=VISITOR_MAX_LENGTH,
        help_text="Who is shown the list (as for recommendations); the browser's own by default.",
    )


class TrendingQuerySerializer(QueryParameters):
    window = serializers.ChoiceField(
        choices=TrendingWindow.choices, required=False, default=TrendingWindow.DAYS_7
    )
    category = serializers.CharField(
        required=False, max_length=140, help_text="A category id or slug (sub-categories too)."
    )
    k = k_field(20)
    visitor = serializers.CharField(
        required=False,
        max_length=VISITOR_MAX_LENGTH,
        help_text="Who is shown the list (as for recommendations); the browser's own by default.",
    )


class ReasonSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=ReasonType.choices)
    products = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="similar_to: the visitor's products that brought this one.",
    )
    category = serializers.IntegerField(required=False, help_text="trending_in_category.")
    visitors = serializers.IntegerField(
        required=False, help_text="interacted_together: shoppers who interacted with both."
    )


class ItemSerializer(serializers.Serializer[Any]):
    product = ProductCardSerializer()
    score = serializers.FloatField()
    reason = ReasonSerializer()
    explanation = serializers.CharField(help_text="The reason as a sentence for shoppers.")


class RecommendationListSerializer(serializers.Serializer[Any]):
    experiment = serializers.CharField(
        allow_null=True, help_text="The experiment running on this list, if the visitor is in one."
    )
    variant = serializers.CharField(allow_null=True, help_text="The visitor's variant of it.")
    recommendation_id = serializers.CharField(
        allow_null=True,
        help_text="This answer's impression: send it back in the metadata of the events it "
        "leads to (`recommendation_id`); null for an empty list.",
    )
    visitor = serializers.CharField()
    strategy = serializers.ChoiceField(choices=RecommendationStrategy.choices)
    items = ItemSerializer(many=True)


class SimilarListSerializer(serializers.Serializer[Any]):
    recommendation_id = serializers.CharField(
        allow_null=True,
        help_text="This answer's impression: send it back in the metadata of the events it "
        "leads to (`recommendation_id`); null for an empty list.",
    )
    product = serializers.IntegerField()
    strategy = serializers.ChoiceField(choices=SimilarStrategy.choices)
    items = ItemSerializer(many=True)


class TrendingListSerializer(serializers.Serializer[Any]):
    recommendation_id = serializers.CharField(
        allow_null=True,
        help_text="This answer's impression: send it back in the metadata of the events it "
        "leads to (`recommendation_id`); null for an empty list.",
    )
    window = serializers.ChoiceField(choices=TrendingWindow.choices)
    category = CategoryCardSerializer(allow_null=True)
    items = ItemSerializer(many=True)


class MerchandisingRuleSerializer(serializers.ModelSerializer[MerchandisingRule]):
    """A merchandising rule. Exactly one target (product, category or price_min/price_max);
    pins need a product and a position; boosts a strength in (0, 1], buries in [-1, 0)."""

    surfaces = serializers.ListField(
        child=serializers.ChoiceField(choices=Surface.choices),
        required=False,
        help_text="The lists it steers; empty or absent: every list.",
    )
    changed_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = MerchandisingRule
        fields = ["id", *MerchandisingRule.EDITABLE, "changed_by", "created_at", "updated_at"]
        read_only_fields = ["id", "changed_by", "created_at", "updated_at"]


class EstimateSerializer(serializers.Serializer[Any]):
    value = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True, help_text="95% interval.")
    high = serializers.FloatField(allow_null=True)


class LiftSerializer(serializers.Serializer[Any]):
    lift = serializers.FloatField(allow_null=True, help_text="Relative to the control: 0.1 = +10%.")
    low = serializers.FloatField(allow_null=True, help_text="95% interval.")
    high = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    significant = serializers.BooleanField(help_text="p < 0.05.")


class VariantResultSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    configuration = serializers.CharField()
    is_control = serializers.BooleanField()
    share = serializers.IntegerField()
    visitors = serializers.IntegerField(help_text="Exposed visitors who saw this variant only.")
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    add_to_carts = serializers.IntegerField()
    orders = serializers.IntegerField()
    revenue = serializers.FloatField()
    metrics = serializers.DictField(
        child=EstimateSerializer(),
        help_text="ctr, add_to_cart_rate, conversion_rate, revenue_per_visitor.",
    )
    lifts = serializers.DictField(child=LiftSerializer(), help_text="Empty for the control.")


class DailyPointSerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    visitors = serializers.DictField(child=serializers.IntegerField())
    conversion = serializers.DictField(child=serializers.FloatField(allow_null=True))


class ExperimentResultsSerializer(serializers.Serializer[Any]):
    experiment = serializers.CharField()
    status = serializers.CharField()
    primary_metric = serializers.CharField()
    minimum_detectable_effect = serializers.FloatField()
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField()
    variants = VariantResultSerializer(many=True)
    excluded_visitors = serializers.IntegerField(help_text="Saw more than one variant.")
    srm_p_value = serializers.FloatField(allow_null=True)
    sample_ratio_mismatch = serializers.BooleanField(help_text="srm_p_value < 0.001.")
    sample_size_per_variant = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        help_text="Visitors each variant needs (power 0.8, alpha 0.05) for the primary metric.",
    )
    sample_reached = serializers.BooleanField(help_text="False: the results are preliminary.")
    daily = DailyPointSerializer(many=True)
