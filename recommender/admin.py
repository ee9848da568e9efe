from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from recommender.models import (
    BoughtTogether,
    ContentSimilarity,
    EvaluationMetric,
    EvaluationRun,
    ItemSimilarity,
    PipelineRun,
    TrendingScore,
)

M = TypeVar("M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[M]):
    """Computed tables: the pipelines write them, staff only look."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TrendingScore)
class TrendingScoreAdmin(ReadOnlyAdmin[TrendingScore]):
    list_display = ["product", "window", "category", "score", "event_count", "computed_at"]
    list_filter = ["window", "category"]
    list_select_related = ["product", "category"]
    search_fields = ["product__name", "product__external_id"]
    show_full_result_count = False


@admin.register(ItemSimilarity)
class ItemSimilarityAdmin(ReadOnlyAdmin[ItemSimilarity]):
    list_display = ["product", "similar_product", "score", "co_occurrence", "computed_at"]
    list_select_related = ["product", "similar_product"]
    search_fields = ["product__name", "product__external_id"]
    show_full_result_count = False


@admin.register(ContentSimilarity)
class ContentSimilarityAdmin(ReadOnlyAdmin[ContentSimilarity]):
    list_display = ["product", "similar_product", "score", "computed_at"]
    list_select_related = ["product", "similar_product"]
    search_fields = ["product__name", "product__external_id"]
    show_full_result_count = False


@admin.register(BoughtTogether)
class BoughtTogetherAdmin(ReadOnlyAdmin[BoughtTogether]):
    list_display = ["product", "similar_product", "score", "co_occurrence", "computed_at"]
    list_select_related = ["product", "similar_product"]
    search_fields = ["product__name", "product__external_id"]
    show_full_result_count = False


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyAdmin[PipelineRun]):
    list_display = ["id", "kind", "status", "created_at", "started_at", "duration_seconds"]
    list_filter = ["kind", "status", "created_at"]
    date_hierarchy = "created_at"


class EvaluationMetricInline(admin.TabularInline[EvaluationMetric, EvaluationRun]):
    model = EvaluationMetric
    extra = 0
    can_delete = False
    fields = readonly_fields = ("algorithm", "protocol", "metric", "k", "value")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EvaluationMetric)
class EvaluationMetricAdmin(ReadOnlyAdmin[EvaluationMetric]):
    list_display = ["run", "algorithm", "protocol", "metric", "k", "value"]
    list_filter = ["algorithm", "protocol", "metric", "k"]
    list_select_related = ["run"]
    search_fields = ["algorithm", "metric"]


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ReadOnlyAdmin[EvaluationRun]):
    list_display = ["id", "created_at", "visitors_evaluated", "pipeline_run"]
    date_hierarchy = "created_at"
    inlines = [EvaluationMetricInline]
