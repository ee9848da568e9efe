"""Reads for the operators' dashboard: aggregated in the database, one query per figure set."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Sum, Window
from django.db.models.enums import TextChoices
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone

from catalog.models import Product
from catalog.querysets import browsable_q
from recommender.models import (
    ACTIVE_PIPELINE_STATUSES,
    EvaluationMetric,
    EvaluationProtocol,
    EvaluationRun,
    ItemSimilarity,
    PipelineKind,
    PipelineRun,
    TrendingScore,
    TrendingWindow,
)
from recommender.selectors import pipeline_last_successes
from tracking.attribution import ShelfFigures
from tracking.models import Event, EventType

logger = logging.getLogger(__name__)


class Period(TextChoices):
    TODAY = "today", "Today"
    DAYS_7 = "7d", "Last 7 days"
    DAYS_30 = "30d", "Last 30 days"


PERIOD_DAYS = {Period.TODAY: 1, Period.DAYS_7: 7, Period.DAYS_30: 30}


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime

    def before(self) -> Span:
        """The span of the same length just before this one."""
        return Span(self.start - (self.end - self.start), self.start)


def period_span(period: Period, *, now: datetime) -> Span:
    """Today: since midnight (the server's time zone); N days: the last N x 24 hours."""
    if period == Period.TODAY:
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return Span(midnight, midnight + timedelta(days=1))
    return Span(now - timedelta(days=PERIOD_DAYS[period]), now)


@dataclass(frozen=True)
class Figures:
    visitors: int
    views: int
    add_to_carts: int
    purchases: int
    # The funnel: distinct visitors who did each step.
    viewers: int
    carters: int
    buyers: int
    orders: int
    revenue: Decimal

    @property
    def conversion(self) -> float | None:
        """Share of viewing visitors who bought."""
        return self.buyers / self.viewers if self.viewers else None


def store_figures(span: Span) -> Figures:
    """The store's activity in the span: two aggregate queries."""
    events = Event.objects.filter(occurred_at__gte=span.start, occurred_at__lt=span.end)
    kinds = {kind: Q(event_type=kind) for kind in EventType}
    counts = events.aggregate(
        visitors=Count("visitor", distinct=True),
        views=Count("id", filter=kinds[EventType.VIEW]),
        add_to_carts=Count("id", filter=kinds[EventType.ADD_TO_CART]),
        purchases=Count("id", filter=kinds[EventType.PURCHASE]),
        viewers=Count("visitor", distinct=True, filter=kinds[EventType.VIEW]),
        carters=Count("visitor", distinct=True, filter=kinds[EventType.ADD_TO_CART]),
        buyers=Count("visitor", distinct=True, filter=kinds[EventType.PURCHASE]),
    )
    sales = events.filter(event_type=EventType.PURCHASE).aggregate(
        # Lines of one order count once; a purchase that names no order is an order itself.
        orders=Count("order_ref", distinct=True, filter=~Q(order_ref=""))
        + Count("id", filter=Q(order_ref="")),
        revenue=Sum("revenue"),
    )
    return Figures(**counts, orders=sales["orders"], revenue=money(sales["revenue"]))


def money(amount: Decimal | float | None) -> Decimal:
    """An amount of money to the cent (SQLite sums decimals as floats: 71.9800000000000)."""
    return Decimal(str(amount or 0)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class DailySeries:
    days: list[date]
    # Per series name, one value per day (0 on days without any).
    values: dict[str, list[float]]


def events_per_day(span: Span) -> DailySeries:
    """Events per day and type over the span (one grouped query)."""
    rows = (
        Event.objects.filter(occurred_at__gte=span.start, occurred_at__lt=span.end)
        .annotate(day=TruncDate("occurred_at"))
        .values_list("day", "event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    days = _days(span)
    values = {kind.label: [0.0] * len(days) for kind in EventType}
    position = {day: i for i, day in enumerate(days)}
    for day, kind, n in rows:
        if day in position:
            values[EventType(kind).label][position[day]] = float(n)
    return DailySeries(days, values)


def revenue_per_day(span: Span) -> DailySeries:
    """Revenue of every sale (purchase events: tracking.sales) per day over the span (one
    grouped query)."""
    rows = (
        Event.objects.filter(
            event_type=EventType.PURCHASE, occurred_at__gte=span.start, occurred_at__lt=span.end
        )
        .annotate(day=TruncDate("occurred_at"))
        .values_list("day")
        .annotate(revenue=Sum("revenue"))
        .order_by()
    )
    days = _days(span)
    position = {day: i for i, day in enumerate(days)}
    revenue = [0.0] * len(days)
    for day, total in rows:
        if day in position:
            revenue[position[day]] = float(total or 0)
    return DailySeries(days, {"Revenue": revenue})


def _days(span: Span) -> list[date]:
    first = timezone.localtime(span.start).date()
    last = timezone.localtime(span.end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class Overview:
    period: Period
    computed_at: datetime
    span: Span
    current: Figures
    previous: Figures
    events: DailySeries
    revenue: DailySeries
    clicks: list[WidgetClicks]
    # Per shelf or endpoint: impressions, clicks and what they led to (tracking.attribution).
    shelves: list[ShelfFigures]
    quality: QualityHistory
    top: dict[str, list[ProductCount]]
    coverage: CatalogCoverage
    trending: list[CategoryTrending]


RUNS_SHOWN = 5


@dataclass(frozen=True)
class PipelineState:
    kind: PipelineKind
    runs: list[PipelineRun]
    # When its results were last replaced (its latest successful run finished).
    fresh_at: datetime | None

    @property
    def active(self) -> bool:
        return any(run.status in ACTIVE_PIPELINE_STATUSES for run in self.runs)


def pipeline_states() -> list[PipelineState]:
    """Each pipeline's latest runs and freshness (two queries; never cached: operators watch
    a run they just started)."""
    latest = (
        PipelineRun.objects.annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("kind"),
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=RUNS_SHOWN)
        .order_by("kind", "-created_at", "-id")
    )
    runs: dict[str, list[PipelineRun]] = {kind: [] for kind in PipelineKind}
    for run in latest:
        runs[run.kind].append(run)
    fresh_at = pipeline_last_successes()
    return [
        PipelineState(kind=kind, runs=runs[kind], fresh_at=fresh_at.get(kind))
        for kind in PipelineKind
    ]


# The figures charted over time, each (protocol, metric, cut-off (0: none)): the headline figures
# on the all-purchases protocol, and NDCG@20 in each row of the live protocol.
QUALITY_FIGURES = (
    (EvaluationProtocol.ALL_PURCHASES, "hit_rate", 20),
    (EvaluationProtocol.ALL_PURCHASES, "ndcg", 20),
    (EvaluationProtocol.ALL_PURCHASES, "recall", 20),
    (EvaluationProtocol.ALL_PURCHASES, "coverage", 0),
    (EvaluationProtocol.LIVE_GUESTS, "ndcg", 20),
    (EvaluationProtocol.LIVE_RETURNING, "ndcg", 20),
    (EvaluationProtocol.LIVE_RETURNING_ALL, "ndcg", 20),
)
QUALITY_RUNS_SHOWN = 20


@dataclass(frozen=True)
class QualityHistory:
    runs: list[datetime]
    # Per (protocol, metric, k): per algorithm, one value per run (None where a run lacks it).
    series: dict[tuple[str, str, int], dict[str, list[float | None]]]


def quality_history() -> QualityHistory:
    """The last evaluation runs' headline figures per algorithm (two queries)."""
    runs = list(
        EvaluationRun.objects.order_by("-created_at", "-id").values_list("id", "created_at")[
            :QUALITY_RUNS_SHOWN
        ]
    )[::-1]
    position = {run_id: i for i, (run_id, _) in enumerate(runs)}
    wanted = Q()
    for protocol, metric, k in QUALITY_FIGURES:
        wanted |= Q(protocol=protocol, metric=metric, k=k)
    rows = EvaluationMetric.objects.filter(wanted, run_id__in=list(position)).values_list(
        "run_id", "algorithm", "protocol", "metric", "k", "value"
    )
    series: dict[tuple[str, str, int], dict[str, list[float | None]]] = {
        (str(protocol), metric, k): {} for protocol, metric, k in QUALITY_FIGURES
    }
    for run_id, algorithm, stored_protocol, metric, k, value in rows:
        figure = (str(stored_protocol), metric, k)
        values = series[figure].setdefault(algorithm, [None] * len(runs))
        values[position[run_id]] = value
    return QualityHistory(runs=[created for _, created in runs], series=series)


@dataclass(frozen=True)
class WidgetClicks:
    widget: str
    strategy: str
    clicks: int


def recommendation_clicks(span: Span) -> list[WidgetClicks]:
    """Product views that came from a click on a recommendation, per widget and strategy
    (the `rec` and `strategy` the storefront put in each view's metadata), most first."""
    rows = (
        Event.objects.recommendation_clicks()
        .filter(occurred_at__gte=span.start, occurred_at__lt=span.end)
        .values_list("metadata__rec", "metadata__strategy")
        .annotate(clicks=Count("id"))
        .order_by("-clicks")
    )
    # An API client's click names its answer (recommendation_id), not a page's widget.
    return [WidgetClicks(str(w or "api"), str(s or "-"), n) for w, s, n in rows]


TOP_PRODUCTS = 10


@dataclass(frozen=True)
class ProductCount:
    product_id: int
    name: str
    count: int


def top_products(span: Span) -> dict[str, list[ProductCount]]:
    """The most viewed, added to cart and bought products of the span (one grouped query per
    event type, each answered from the (event_type, occurred_at) index)."""
    top: dict[str, list[ProductCount]] = {}
    for kind in EventType:
        rows = (
            Event.objects.filter(
                event_type=kind, occurred_at__gte=span.start, occurred_at__lt=span.end
            )
            .values_list("product_id", "product__name")
            .annotate(n=Count("id"))
            .order_by("-n", "product_id")[:TOP_PRODUCTS]
        )
        top[kind.label] = [ProductCount(p, name, n) for p, name, n in rows]
    return top


@dataclass(frozen=True)
class CatalogCoverage:
    browsable: int
    # Browsable products that have behavioural neighbours, and that are some product's.
    with_neighbours: int
    recommended: int
    # A sample of browsable products with no behavioural neighbours yet (cold items).
    cold: list[tuple[int, str]]


COLD_SHOWN = 10


def catalog_coverage() -> CatalogCoverage:
    """How much of the sellable catalog item similarity can reach (four queries)."""
    browsable = Product.objects.filter(browsable_q())
    has_neighbours = Exists(ItemSimilarity.objects.filter(product=OuterRef("pk")))
    is_neighbour = Exists(ItemSimilarity.objects.filter(similar_product=OuterRef("pk")))
    cold = browsable.exclude(has_neighbours).order_by("id").values_list("id", "name")
    return CatalogCoverage(
        browsable=browsable.count(),
        with_neighbours=browsable.filter(has_neighbours).count(),
        recommended=browsable.filter(is_neighbour).count(),
        cold=list(cold[:COLD_SHOWN]),
    )


TRENDING_PER_CATEGORY = 3


@dataclass(frozen=True)
class CategoryTrending:
    category: str
    # Per window, its best products' names, best first.
    by_window: dict[str, list[str]]


def trending_by_category() -> list[CategoryTrending]:
    """Each category's top trending products in each window, as the pipeline last computed
    them (one ranked query), categories by name."""
    rows = (
        TrendingScore.objects.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("window"), F("category")],
                order_by=[F("score").desc(), F("product_id").asc()],
            )
        )
        .filter(rank__lte=TRENDING_PER_CATEGORY, category__isnull=False)
        .order_by("category__name", "window", "rank")
        .values_list("category__name", "window", "product__name")
    )
    categories: dict[str, dict[str, list[str]]] = {}
    for category, window, product in rows:
        by_window = categories.setdefault(category, {w: [] for w in TrendingWindow.values})
        by_window[window].append(product)
    return [CategoryTrending(name, by_window) for name, by_window in categories.items()]
