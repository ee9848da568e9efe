"""The recommender's JSON API: recommendations, similar products and trending products."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import category_from_parameter
from catalog.models import Product
from infrastructure.api.access import visitor_allowed
from recommender import serving
from recommender.serializers import (
    RecommendationListSerializer,
    RecommendationQuerySerializer,
    SimilarListSerializer,
    SimilarQuerySerializer,
    TrendingListSerializer,
    TrendingQuerySerializer,
)


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
        return Response(serving.recommendations(request_for))


class SimilarProductsView(APIView):
    """Products similar to one product, each with its score, and which strategy found them."""

    error_statuses = (400, 404)

    @extend_schema(parameters=[SimilarQuerySerializer], responses=SimilarListSerializer)
    def get(self, request: Request, pk: int) -> Response:
        query = SimilarQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        product = get_object_or_404(Product.objects.active(), pk=pk)
        return Response(serving.similar_products(product=product, k=query.validated_data["k"]))


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
        return Response(trending)
