from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.cache import cache as django_cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST, require_safe

from catalog.templatetags.money import currency_symbol
from dashboard import charts, refresh, selectors
from dashboard.permissions import (
    FLUSH_CACHES,
    RUN_PIPELINES,
    VIEW_EXPERIMENTS,
    VIEW_FIGURES,
    VIEW_PIPELINES,
    dashboard_rights,
    staff_required,
)
from dashboard.selectors import Figures, Period
from infrastructure import cache
from infrastructure.outbox.selectors import outbox_backlog
from recommender import services as recommender_services
from recommender.experiments.results import Results, experiment_results
from recommender.models import Experiment, ExperimentMetric, PipelineKind
from recommender.pipelines import PipelineAlreadyRunningError
from recommender.selectors.experiments import experiment_list
from recommender.services import pipeline_enqueue

QUALITY_TITLES = {
    ("all", "hit_rate"): "Hit rate @20 per algorithm (all purchases)",
    ("all", "ndcg"): "NDCG @20 per algorithm (all purchases)",
    ("all", "recall"): "Recall @20 per algorithm (all purchases)",
    ("all", "coverage"): "Catalog coverage per algorithm",
    ("live_guests", "ndcg"): "Live: NDCG @20 for guests filling a basket",
    ("live_returning", "ndcg"): "Live: NDCG @20 for returning customers, new products",
    ("live_returning_all", "ndcg"): "Live: NDCG @20 for returning customers, all products",
}


@require_safe
@staff_required(VIEW_FIGURES)
def overview(request: HttpRequest) -> HttpResponse:
    rights = dashboard_rights(request)
    chosen = request.GET.get("period", Period.DAYS_7)
    if chosen not in Period.values:
        refused = {
            "periods": Period.choices,
            "error": f"Unknown period {chosen!r}.",
            "rights": rights,
        }
        return render(request, "dashboard/overview.html", refused, status=400)
    stats = refresh.overview(Period(chosen))
    days = [day.strftime("%d %b") for day in stats.events.days]
    context: dict[str, object] = {
        "periods": Period.choices,
        "stats": stats,
        "rights": rights,
        "kpis": [
            kpi
            for kpi in _kpis(stats.current, stats.previous)
            if rights["revenue"] or not kpi["money"]
        ],
        "events_chart": mark_safe(  # noqa: S308 (markup built from escaped text and numbers)
            charts.line_chart(
                "Events per day by type",
                days,
                [charts.Series(name, values) for name, values in stats.events.values.items()],
            )
        ),
        "revenue_chart": mark_safe(  # noqa: S308
            charts.line_chart(
                f"Revenue per day ({currency_symbol()})",
                days,
                [charts.Series("Revenue", stats.revenue.values["Revenue"])],
            )
        )
        if rights["revenue"]
        else None,
        "funnel_chart": mark_safe(  # noqa: S308
            charts.bar_chart(
                "Funnel: visitors who viewed, added to cart, bought",
                [
                    ("Viewed", stats.current.viewers),
                    ("Added to cart", stats.current.carters),
                    ("Bought", stats.current.buyers),
                ],
            )
        ),
        "clicks_chart": mark_safe(  # noqa: S308
            charts.bar_chart(
                "Product views from recommendation clicks, per widget and strategy",
                [(f"{c.widget} / {c.strategy}", c.clicks) for c in stats.clicks],
            )
        ),
        "shelves_chart": mark_safe(  # noqa: S308
            charts.bar_chart(
                "Click-through rate per shelf (%)",
                [(s.surface, round(100 * s.ctr, 1)) for s in stats.shelves],
            )
        ),
        "quality_charts": [
            (
                QUALITY_TITLES[(protocol, metric)],
                mark_safe(  # noqa: S308
                    charts.line_chart(
                        QUALITY_TITLES[(protocol, metric)],
                        [run.strftime("%d %b %H:%M") for run in stats.quality.runs],
                        [
                            charts.Series(name, values)
                            for name, values in sorted(by_algorithm.items())
                        ],
                    )
                ),
            )
            for (protocol, metric, _), by_algorithm in stats.quality.series.items()
            # A store with no orders to replay has no live figures: no empty chart.
            if (by_algorithm or protocol == "all") and rights["quality"]
        ],
    }
    return render(request, "dashboard/overview.html", context)


def _kpis(current: Figures, previous: Figures) -> list[dict[str, object]]:
    """Each headline figure with its change against the previous period."""
    rows = [
        ("Visitors", current.visitors, previous.visitors),
        ("Product views", current.views, previous.views),
        ("Added to cart", current.add_to_carts, previous.add_to_carts),
        ("Purchases", current.purchases, previous.purchases),
        ("Orders", current.orders, previous.orders),
        ("Revenue", current.revenue, previous.revenue),
        ("Conversion", current.conversion, previous.conversion),
    ]
    return [
        {
            "label": label,
            "value": now,
            "change": _change(now, before),
            "percent": label == "Conversion",
            "money": label == "Revenue",
        }
        for label, now, before in rows
    ]


def _change(now: Any, before: Any) -> float | None:
    """Relative change, None when there is nothing to compare with."""
    if now is None or not before:
        return None
    return float((now - before) / before)


@require_safe
@staff_required(VIEW_PIPELINES)
def pipelines(request: HttpRequest) -> HttpResponse:
    states = selectors.pipeline_states()
    rights = dashboard_rights(request)
    context = {
        "rights": rights,
        "states": states,
        "outbox": outbox_backlog() if rights["outbox"] else None,
        "cache_statistics": _hit_rates(cache.statistics()),
        # Without script: the page reloads itself while a run is queued or running.
        "refresh": any(state.active for state in states),
    }
    return render(request, "dashboard/pipelines.html", context)


@require_POST
@staff_required(RUN_PIPELINES)
def pipeline_run(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in PipelineKind.values:
        raise Http404("No such pipeline.")
    try:
        run = pipeline_enqueue(kind=PipelineKind(kind))
    except PipelineAlreadyRunningError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{run.get_kind_display()} run #{run.pk} is queued.")
    return redirect("dashboard:pipelines")


@require_POST
@staff_required(FLUSH_CACHES)
def caches_flush(request: HttpRequest) -> HttpResponse:
    recommender_services.caches_flush()
    messages.success(request, "Every cached answer is invalidated.")
    return redirect("dashboard:pipelines")


def _hit_rates(statistics: dict[str, dict[str, int]]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for family, counts in statistics.items():
        lookups = counts["hits"] + counts["misses"]
        rate = counts["hits"] / lookups if lookups else None
        rows.append({"family": family, **counts, "rate": rate})
    return rows


EXPERIMENT_FRESH_SECONDS = 60


@require_safe
@staff_required(VIEW_EXPERIMENTS)
def experiments(request: HttpRequest) -> HttpResponse:
    context = {"rights": dashboard_rights(request), "experiments": experiment_list()}
    return render(request, "dashboard/experiments.html", context)


@require_safe
@staff_required(VIEW_EXPERIMENTS)
def experiment_detail(request: HttpRequest, slug: str) -> HttpResponse:
    experiment = get_object_or_404(Experiment, slug=slug)
    # Aggregating an experiment's impressions and events is the page's cost: at most a minute
    # old, as the overview's figures are.
    key = f"dashboard:experiment:{experiment.pk}:{experiment.updated_at.timestamp()}"
    results: Results | None = django_cache.get(key)
    if results is None:
        results = experiment_results(experiment)
        django_cache.set(key, results, timeout=EXPERIMENT_FRESH_SECONDS)
    names = [v.name for v in results.variants]
    primary = results.primary_metric
    lifts = [
        charts.Interval(v.name, lift.lift, lift.low, lift.high)
        for v in results.variants
        if (lift := v.lifts.get(primary)) is not None
        and lift.lift is not None
        and lift.low is not None
        and lift.high is not None
    ]
    context = {
        "rights": dashboard_rights(request),
        "experiment": experiment,
        "results": results,
        "metric_names": dict(ExperimentMetric.choices),
        "conversion_chart": mark_safe(  # noqa: S308 (markup built from escaped text and numbers)
            charts.line_chart(
                "Cumulative conversion per variant by day (%)",
                [point.day.strftime("%d %b") for point in results.daily],
                [
                    charts.Series(
                        name,
                        [
                            None if (c := p.conversion[name]) is None else round(100 * c, 2)
                            for p in results.daily
                        ],
                    )
                    for name in names
                ],
            )
        )
        if results.daily
        else None,
        "lift_chart": mark_safe(  # noqa: S308
            charts.interval_chart(
                f"Lift of {ExperimentMetric(primary).label.split(' (')[0]} against the control, "
                "with its 95% interval",
                lifts,
            )
        )
        if lifts
        else None,
    }
    return render(request, "dashboard/experiment.html", context)
