from __future__ import annotations

from collections.abc import Callable
from itertools import zip_longest
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from catalog.models import Category, Product
from recommender.experiments.services import ExperimentError, experiment_start, experiment_stop
from recommender.models import (
    BoughtTogether,
    ContentSimilarity,
    EvaluationMetric,
    EvaluationRun,
    Experiment,
    ExperimentStatus,
    ExperimentSurface,
    ExperimentVariant,
    ItemSimilarity,
    MerchandisingRule,
    MerchandisingSettings,
    PipelineRun,
    RuleKind,
    Surface,
    TrendingScore,
)
from recommender.services import (
    merchandising_rule_delete,
    merchandising_rule_save,
    merchandising_settings_save,
)
from recommender.serving.contracts import Item
from recommender.serving.preview import Preview, merchandising_preview

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


class MerchandisingRuleForm(forms.ModelForm[MerchandisingRule]):
    surfaces = forms.MultipleChoiceField(
        choices=Surface.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every list.",
    )

    class Meta:
        model = MerchandisingRule
        fields = MerchandisingRule.EDITABLE


class PreviewForm(forms.Form):
    surface = forms.ChoiceField(choices=Surface.choices, initial=Surface.RECOMMENDED)
    visitor = forms.CharField(
        required=False, max_length=64, help_text="A visitor's id (recommendations, buy again)."
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.all(),
        required=False,
        widget=forms.NumberInput,
        help_text="A product's id (also viewed, bought together).",
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.order_by("name"),
        required=False,
        help_text="A category's page (trending, recommendations).",
    )
    k = forms.IntegerField(min_value=1, max_value=50, initial=10)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        surface = data.get("surface")
        if surface in (Surface.SIMILAR, Surface.BOUGHT_TOGETHER) and not data.get("product"):
            self.add_error("product", "This list belongs to a product's page: choose it.")
        if surface in (Surface.RECOMMENDED, Surface.BUY_AGAIN) and not data.get("visitor"):
            self.add_error("visitor", "Recommendations are a visitor's: give the id.")
        return data


@admin.register(MerchandisingRule)
class MerchandisingRuleAdmin(admin.ModelAdmin[MerchandisingRule]):
    """Rules take effect on the next request. The preview (a button on the list) shows a
    shelf with and without them, and the rules that lose their conflicts."""

    form = MerchandisingRuleForm
    list_display = [
        "__str__",
        "kind",
        "target",
        "effect",
        "scope",
        "starts_at",
        "ends_at",
        "changed_by",
        "updated_at",
    ]
    list_filter = ["kind", "starts_at", "ends_at"]
    list_select_related = ["product", "category", "on_category", "on_product", "changed_by"]
    autocomplete_fields = ["product", "category", "on_category", "on_product"]
    search_fields = ["note", "product__name", "category__name"]
    readonly_fields = ["changed_by", "created_at", "updated_at"]

    @admin.display(description="Target")
    def target(self, rule: MerchandisingRule) -> str:
        if rule.product_id:
            return f"Product: {rule.product}"
        if rule.category_id:
            return f"Category: {rule.category} (and its sub-categories)"
        low = rule.price_min if rule.price_min is not None else "0"
        high = rule.price_max if rule.price_max is not None else "any"
        return f"Price {low} to {high}"

    @admin.display(description="Effect")
    def effect(self, rule: MerchandisingRule) -> str:
        if rule.kind == RuleKind.PIN:
            return f"At position {rule.position}"
        if rule.kind in (RuleKind.BOOST, RuleKind.BURY):
            return f"{rule.strength:+.2f}"
        return "Hidden"

    @admin.display(description="Where")
    def scope(self, rule: MerchandisingRule) -> str:
        lists = ", ".join(Surface(s).label.split(" (")[0] for s in rule.surfaces) or "Every list"
        page = rule.on_product or rule.on_category
        return f"{lists} on {page}'s page" if page else lists

    def save_model(
        self, request: HttpRequest, obj: MerchandisingRule, form: Any, change: bool
    ) -> None:
        merchandising_rule_save(
            rule=obj,
            changed_by=request.user,
            **{name: form.cleaned_data[name] for name in MerchandisingRule.EDITABLE},
        )

    def delete_model(self, request: HttpRequest, obj: MerchandisingRule) -> None:
        merchandising_rule_delete(rule=obj)

    def get_urls(self) -> list[URLPattern]:
        preview = path(
            "preview/",
            self.admin_site.admin_view(self.preview_view),
            name="recommender_merchandisingrule_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.GET or None)
        preview = None
        if form.is_valid():
            data = form.cleaned_data
            preview = merchandising_preview(
                surface=Surface(data["surface"]),
                visitor=data["visitor"],
                product=data["product"],
                category=data["category"],
                k=data["k"],
            )
        rules = (
            MerchandisingRule.objects.filter(pk__in=preview.rule_ids).select_related(
                "product", "category"
            )
            if preview
            else []
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Preview a list with and without the merchandising rules",
            "opts": self.model._meta,
            "form": form,
            "preview": preview,
            "rows": _side_by_side(preview) if preview else [],
            "rules": [
                (rule, preview.conflicts.get(rule.pk) if preview else None) for rule in rules
            ],
        }
        return TemplateResponse(request, "admin/recommender/merchandising_preview.html", context)


def _side_by_side(preview: Preview) -> list[tuple[Item | None, Item | None]]:
    return list(zip_longest(preview.without, preview.with_rules))


@admin.register(MerchandisingSettings)
class MerchandisingSettingsAdmin(admin.ModelAdmin[MerchandisingSettings]):
    list_display = [
        "__str__",
        "preferred_category_boost",
        "preferred_categories",
        "max_per_category",
    ]
    readonly_fields = ["changed_by", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not MerchandisingSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: MerchandisingSettings, form: Any, change: bool
    ) -> None:
        merchandising_settings_save(
            changed_by=request.user,
            **{
                name: form.cleaned_data[name]
                for name in ("preferred_category_boost", "preferred_categories", "max_per_category")
            },
        )


class ExperimentVariantInline(admin.TabularInline[ExperimentVariant, Experiment]):
    model = ExperimentVariant
    extra = 2
    fields = ["name", "configuration", "share", "is_control"]


class ExperimentSurfaceInline(admin.TabularInline[ExperimentSurface, Experiment]):
    model = ExperimentSurface
    extra = 1
    fields = ["surface"]


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin[Experiment]):
    """A draft is designed here (variants, shares, the list it runs on) and started with the
    "Start" action; a running or stopped experiment's design can no longer change, so its
    results keep meaning what they measured."""

    list_display = ["slug", "status", "primary_metric", "minimum_detectable_effect",
                    "started_at", "ended_at"]  # fmt: skip
    list_filter = ["status"]
    search_fields = ["slug", "hypothesis"]
    readonly_fields = ["status", "started_at", "ended_at", "created_at", "updated_at"]
    inlines = [ExperimentVariantInline, ExperimentSurfaceInline]
    actions = ["start", "stop"]

    def has_change_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        designing = obj is None or obj.status == ExperimentStatus.DRAFT
        return designing and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        designing = obj is None or obj.status == ExperimentStatus.DRAFT
        return designing and super().has_delete_permission(request, obj)

    @admin.action(description="Start the selected draft experiments", permissions=["change"])
    def start(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, experiment_start, "started")

    @admin.action(description="Stop the selected running experiments", permissions=["change"])
    def stop(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, experiment_stop, "stopped")

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[Experiment],
        change: Callable[..., Experiment],
        done: str,
    ) -> None:
        for experiment in queryset:
            try:
                change(experiment=experiment)
            except ExperimentError as error:
                problems = " ".join(error.args[0])
                self.message_user(request, f"{experiment}: {problems}", messages.ERROR)
            else:
                self.message_user(request, f"{experiment} is {done}.", messages.SUCCESS)
