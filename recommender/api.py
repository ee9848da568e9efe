"""The recommender's JSON API: recommendations, similar and trending products, and the
merchandising rules that steer them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import category_from_parameter
from catalog.models import Product
from infrastructure.api.access import ModelPermissions, visitor_allowed, visitor_optional
from recommender import serving
from recommender.experiments.assignment import Assignment
from recommender.experiments.results import experiment_results, results_data
from recommender.models import Experiment, MerchandisingRule
from recommender.serializers import (
    ExperimentResultsSerializer,
    MerchandisingRuleSerializer,
    RecommendationListSerializer,
    RecommendationQuerySerializer,
    SimilarListSerializer,
    SimilarQuerySerializer,
    TrendingListSerializer,
    TrendingQuerySerializer,
)
from recommender.services import merchandising_rule_delete, merchandising_rule_save
from tracking.impressions import Shown, impression_record


class RecommendationsView(APIView):
    """A visitor's recommendations: personalised, then category trending, then global
    trending, each item with its reason. With an API token for any visitor; from a browser
    only for the visitor of its own cookie."""

    error_statuses = (400, 401, 403)

    @extend_schema(
        parameters=[RecommendationQuerySerializer], responses=RecommendationListSerializer
    )
    def get(self, request: Request) -> Response:
        query = RecommendationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        parameters = query.validated_data
        request_for = serving.RecommendationRequest(
            visitor=visitor_allowed(request, parameters.get("visitor")),
            k=parameters["k"],
            category=category_from_parameter(parameters.get("category")),
            include_interacted=parameters["include_interacted"],
            max_per_category=parameters["max_per_category"],
            scenario=serving.RecommendationScenario(parameters["scenario"]),
        )
        answer, assigned = serving.recommendations_assigned(request_for)
        surface = f"api_{request_for.scenario.value}"
        return _shown(answer, surface, request_for.visitor, assigned, assignable=True)


class SimilarProductsView(APIView):
    """Products similar to one product, each with its score, and which strategy found them."""

    error_statuses = (400, 404)

    @extend_schema(parameters=[SimilarQuerySerializer], responses=SimilarListSerializer)
    def get(self, request: Request, pk: int) -> Response:
        query = SimilarQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        product = get_object_or_404(Product.objects.active(), pk=pk)
        visitor = visitor_optional(request, query.validated_data.get("visitor"))
        answer = serving.similar_products(product=product, k=query.validated_data["k"])
        return _shown(answer, "api_similar", visitor)


class TrendingView(APIView):
    """The products trending most over 7 or 30 days, in the store or in one category."""

    error_statuses = (400,)

    @extend_schema(parameters=[TrendingQuerySerializer], responses=TrendingListSerializer)
    def get(self, request: Request) -> Response:
        query = TrendingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        parameters = query.validated_data
        trending = serving.trending_products(
            window=parameters["window"],
            category=category_from_parameter(parameters.get("category")),
            k=parameters["k"],
        )
        return _shown(
            trending, "api_trending", visitor_optional(request, parameters.get("visitor"))
        )


def _shown(
    answer: Any,
    surface: str,
    visitor: str | None,
    assigned: Assignment | None = None,
    *,
    assignable: bool = False,
) -> Response:
    """The answer with its impression id (and, for a list experiments run on, the variant the
    visitor is in), the list recorded as shown (not an empty one)."""
    products = [item["product"]["id"] for item in answer["items"]]
    experiment = assigned.experiment if assigned else ""
    variant = assigned.variant if assigned else ""
    shown = None
    if products:
        shown = impression_record(
            Shown(
                surface,
                products,
                visitor,
                strategy=answer.get("strategy", surface),
                experiment=experiment,
                variant=variant,
            )
        )
    if assignable:
        answer = {**answer, "experiment": experiment or None, "variant": variant or None}
    return Response({**answer, "recommendation_id": shown})


class ExperimentResultsView(APIView):
    """An experiment's results so far: per variant its exposed visitors and metrics with 95%
    intervals, each variant's lift against the control with its interval and p-value, the
    sample-ratio check and the sample size the primary metric needs (fixed horizon: the
    results are preliminary until every variant has it). Needs the experiments' view
    permission (Merchandiser, Analyst)."""

    permission_classes = [ModelPermissions]
    queryset = Experiment.objects.all()
    error_statuses = (401, 403, 404)

    @extend_schema(responses=ExperimentResultsSerializer)
    def get(self, request: Request, slug: str) -> Response:
        experiment = get_object_or_404(Experiment, slug=slug)
        return Response(results_data(experiment_results(experiment)))


class MerchandisingRulesView(APIView):
    """The merchandising rules (GET: all of them, newest change first; POST: a new one).
    Needs a token or session whose user holds the rule permissions (the Merchandiser role)."""

    permission_classes = [ModelPermissions]
    queryset = MerchandisingRule.objects.all()
    error_statuses = (400, 401, 403)

    @extend_schema(responses=MerchandisingRuleSerializer(many=True))
    def get(self, request: Request) -> Response:
        rules = MerchandisingRule.objects.select_related("changed_by")
        return Response(MerchandisingRuleSerializer(rules, many=True).data)

    @extend_schema(
        request=MerchandisingRuleSerializer, responses={201: MerchandisingRuleSerializer}
    )
    def post(self, request: Request) -> Response:
        given = MerchandisingRuleSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        rule = _saved(None, request, given.validated_data)
        return Response(MerchandisingRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class MerchandisingRuleView(APIView):
    """One merchandising rule: read, change some of its fields, delete."""

    permission_classes = [ModelPermissions]
    queryset = MerchandisingRule.objects.all()
    error_statuses = (400, 401, 403, 404)

    @extend_schema(responses=MerchandisingRuleSerializer)
    def get(self, request: Request, pk: int) -> Response:
        rule = get_object_or_404(MerchandisingRule, pk=pk)
        return Response(MerchandisingRuleSerializer(rule).data)

    @extend_schema(request=MerchandisingRuleSerializer, responses=MerchandisingRuleSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        rule = get_object_or_404(MerchandisingRule, pk=pk)
        given = MerchandisingRuleSerializer(rule, data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        rule = _saved(rule, request, given.validated_data)
        return Response(MerchandisingRuleSerializer(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        merchandising_rule_delete(rule=get_object_or_404(MerchandisingRule, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _saved(
    rule: MerchandisingRule | None, request: Request, fields: dict[str, Any]
) -> MerchandisingRule:
    """The rule saved by the service; the model's invariants as field errors (400)."""
    try:
        return merchandising_rule_save(rule=rule, changed_by=request.user, **fields)
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from error
