from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from catalog.models import Order, Product
from catalog.tests.factories import ProductFactory
from dashboard import charts
from dashboard.overview import overview_compute
from dashboard.refresh import overview
from dashboard.selectors import (
    Period,
    Span,
    catalog_coverage,
    events_per_day,
    period_span,
    quality_history,
    recommendation_clicks,
    store_figures,
    top_products,
    trending_by_category,
)
from tracking.models import EventType
from tracking.tests.factories import (
    EventFactory,
    UserFactory,
    VisitorFactory,
    api_client_user,
    role_member,
)

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime(2026, 11, 20, 15, 0))


@pytest.fixture
def week():
    """In the last 7 days: Ann viewed twice, carted and bought (order N1, 30.00); Bob viewed
    once. In the 7 days before: Cy viewed once and bought, through the API with no order
    named (an order of 10.00 on its own)."""
    mug = ProductFactory.create()
    ann, bob, cy = (VisitorFactory.create() for _ in range(3))

    def event(visitor, kind, days_ago, product=mug, **sale):
        EventFactory.create(
            visitor=visitor,
            product=product,
            event_type=kind,
            occurred_at=NOW - timedelta(days=days_ago),
            **sale,
        )

    event(ann, EventType.VIEW, 1)
    event(ann, EventType.VIEW, 2)
    event(ann, EventType.ADD_TO_CART, 2)
    event(ann, EventType.PURCHASE, 2, revenue=Decimal("30.00"), order_ref="N1")
    event(bob, EventType.VIEW, 3)
    event(cy, EventType.VIEW, 9)
    event(cy, EventType.PURCHASE, 9, revenue=Decimal("10.00"))


def test_figures_of_a_period_and_the_one_before(week):
    span = period_span(Period.DAYS_7, now=NOW)
    current, previous = store_figures(span), store_figures(span.before())
    assert (current.visitors, current.views, current.add_to_carts, current.purchases) == (
        2,
        3,
        1,
        1,
    )
    assert (current.viewers, current.carters, current.buyers) == (2, 1, 1)
    assert (current.orders, current.revenue) == (1, Decimal("30.00"))
    assert current.conversion == 0.5
    assert (previous.visitors, previous.buyers, previous.orders) == (1, 1, 1)
    assert previous.revenue == Decimal("10.00")
    assert previous.conversion == 1.0


def test_every_sale_counts_once_whichever_way_it_arrived(client):
    """A shop order's lines (one order), an import's invoice lines (one order), an API
    purchase naming no order (an order of its own) of 2 at the product's price."""
    shop_buyer, importer, app = (VisitorFactory.create() for _ in range(3))
    mug, cup = ProductFactory.create(price=Decimal("4.50")), ProductFactory.create()
    when = NOW - timedelta(days=1)
    for buyer, order in ((shop_buyer, "SHOP1"), (importer, "536365")):
        for product, revenue in ((mug, "12.00"), (cup, "8.00")):
            EventFactory.create(
                visitor=buyer,
                product=product,
                event_type=EventType.PURCHASE,
                occurred_at=when,
                revenue=Decimal(revenue),
                order_ref=order,
            )
    api = api_client_user()
    token = Token.objects.create(user=api)
    sent = client.post(
        "/api/events",
        {"visitor": app.external_id, "product": mug.pk, "event_type": "purchase",
         "occurred_at": when.isoformat(), "metadata": {"quantity": 2}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )  # fmt: skip
    assert sent.status_code == 201, sent.content
    figures = store_figures(period_span(Period.DAYS_7, now=NOW))
    assert (figures.purchases, figures.orders) == (5, 3)
    assert figures.revenue == Decimal("49.00")  # 20 + 20 + 2 x 4.50


def test_today_starts_at_midnight():
    span = period_span(Period.TODAY, now=NOW)
    assert (span.start.hour, span.end - span.start) == (0, timedelta(days=1))
    assert span.before() == Span(span.start - timedelta(days=1), span.start)


def test_events_per_day_has_every_day_of_the_span_by_type(week):
    series = events_per_day(period_span(Period.DAYS_7, now=NOW))
    assert len(series.days) == 8  # 7 x 24 hours ending mid-afternoon touch 8 dates
    assert sum(series.values["View"]) == 3
    two_days_ago = series.days.index((NOW - timedelta(days=2)).date())
    assert series.values["View"][two_days_ago] == 1
    assert series.values["Add to cart"][two_days_ago] == 1
    assert series.values["Purchase"][two_days_ago] == 1


def test_overview_is_cached_for_a_minute(week, django_assert_num_queries):
    overview(Period.DAYS_7, now=NOW)
    with django_assert_num_queries(0):
        cached = overview(Period.DAYS_7, now=NOW)
    assert cached.current.orders == 1


def test_charts_are_accessible_svg_with_escaped_text():
    svg = charts.line_chart("Events <per day>", ["1 Nov", "2 Nov"], [charts.Series("View", [3, 5])])
    assert svg.startswith('<svg class="chart"')
    assert 'role="img"' in svg
    assert "<title>Events &lt;per day&gt;</title>" in svg
    assert "View: 8 in all" in svg
    assert svg.count("<polyline") == 1
    bars = charts.bar_chart("Funnel", [("Viewed", 10), ("Bought", 2)])
    assert "Viewed: 10; Bought: 2" in bars
    assert bars.count("<rect") == 2


def test_dashboard_is_for_staff_only(client):
    url = reverse("dashboard:overview")
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(UserFactory.create())
    assert client.get(url).status_code == 403
    client.force_login(UserFactory.create(is_staff=True))  # staff, but no role
    assert client.get(url).status_code == 403
    client.force_login(role_member("Analyst", is_staff=True))
    assert client.get(url).status_code == 200


def test_dashboard_shows_kpis_and_charts_and_refuses_unknown_periods(client, week):
    client.force_login(role_member("Analyst", is_staff=True))
    page = client.get(reverse("dashboard:overview"), {"period": "30d"}).content.decode()
    assert "Visitors" in page
    assert "Conversion" in page
    assert page.count('<svg class="chart"') == 3
    bad = client.get(reverse("dashboard:overview"), {"period": "1y"})
    assert bad.status_code == 400
    assert "Unknown period" in bad.content.decode()


def test_recommendation_clicks_per_widget_and_strategy():
    span = period_span(Period.DAYS_7, now=NOW)
    for widget, strategy, times in (
        ("home_for_you", "personalised", 3),
        ("product_similar", None, 1),
    ):
        for _ in range(times):
            metadata = {"rec": widget} | ({"strategy": strategy} if strategy else {})
            EventFactory.create(occurred_at=NOW - timedelta(days=1), metadata=metadata)
    EventFactory.create(occurred_at=NOW - timedelta(days=1))  # not from a recommendation
    EventFactory.create(occurred_at=NOW - timedelta(days=1), metadata={"rec": "home_for_you"},
                        event_type=EventType.ADD_TO_CART)  # fmt: skip
    clicks = recommendation_clicks(span)
    assert [(c.widget, c.strategy, c.clicks) for c in clicks] == [
        ("home_for_you", "personalised", 3),
        ("product_similar", "-", 1),
    ]


def test_quality_history_per_metric_and_algorithm():
    from recommender.models import EvaluationMetric, EvaluationRun

    older, newer = EvaluationRun.objects.create(), EvaluationRun.objects.create()
    for run, value in ((older, 0.1), (newer, 0.2)):
        EvaluationMetric.objects.create(
            run=run, algorithm="tiered", protocol="all", metric="ndcg", k=20, value=value
        )
        EvaluationMetric.objects.create(
            run=run, algorithm="tiered", protocol="discovery", metric="ndcg", k=20, value=9
        )
    EvaluationMetric.objects.create(
        run=newer, algorithm="popularity", protocol="all", metric="ndcg", k=20, value=0.05
    )
    EvaluationMetric.objects.create(
        run=newer, algorithm="session_knn", protocol="live_guests", metric="ndcg", k=20, value=0.3
    )
    history = quality_history()
    assert len(history.runs) == 2
    assert history.series[("all", "ndcg", 20)] == {
        "tiered": [0.1, 0.2],
        "popularity": [None, 0.05],
    }
    assert history.series[("all", "coverage", 0)] == {}
    assert history.series[("live_guests", "ndcg", 20)] == {"session_knn": [None, 0.3]}


def test_top_products_per_event_type(week):
    top = top_products(period_span(Period.DAYS_7, now=NOW))
    assert [(p.name, p.count) for p in top["View"]] == [(Product.objects.get().name, 3)]
    assert [p.count for p in top["Purchase"]] == [1]


def test_catalog_coverage_and_cold_products():
    from recommender.tests.factories import ItemSimilarityFactory

    mug, teapot, cold = (ProductFactory.create(name=n) for n in ("Mug", "Teapot", "Lamp"))
    ProductFactory.create(name="Sold out", stock=0)
    ItemSimilarityFactory.create(product=mug, similar_product=teapot)
    coverage = catalog_coverage()
    assert (coverage.browsable, coverage.with_neighbours, coverage.recommended) == (3, 1, 1)
    assert coverage.cold == [(teapot.pk, "Teapot"), (cold.pk, "Lamp")]


def test_trending_by_category_and_window():
    from catalog.tests.factories import CategoryFactory
    from recommender.tests.factories import TrendingScoreFactory

    kitchen, garden = CategoryFactory.create(name="Kitchen"), CategoryFactory.create(name="Garden")
    for name, category, window, score in (
        ("Mug", kitchen, "7d", 3.0),
        ("Teapot", kitchen, "7d", 5.0),
        ("Cup", kitchen, "30d", 1.0),
        ("Rake", garden, "30d", 2.0),
    ):
        product = ProductFactory.create(name=name, category=category)
        TrendingScoreFactory.create(product=product, window=window, score=score)
    rows = trending_by_category()
    assert [(r.category, r.by_window) for r in rows] == [
        ("Garden", {"7d": [], "30d": ["Rake"]}),
        ("Kitchen", {"7d": ["Teapot", "Mug"], "30d": ["Cup"]}),
    ]


def test_a_stale_overview_is_shown_at_once_and_refreshed_behind_it(
    week, monkeypatch, django_assert_num_queries
):
    from dashboard import tasks

    sent: list[tuple[str, ...]] = []
    monkeypatch.setattr(
        tasks.refresh_overview, "apply_async", lambda args, expires: sent.append(args)
    )
    first = overview(Period.DAYS_7, now=NOW)
    later = NOW + timedelta(minutes=5)
    with django_assert_num_queries(0):
        shown = overview(Period.DAYS_7, now=later)
        overview(Period.DAYS_7, now=later)  # a second look within the minute: no second refresh
    assert shown.computed_at == first.computed_at
    assert sent == [("7d",)]
    Order.objects.all().delete()
    tasks.refresh_overview("7d")
    assert overview(Period.DAYS_7).current.orders == 0


def test_with_the_broker_refusing_the_refresh_the_page_shows_what_it_has(week, monkeypatch):
    from kombu.exceptions import OperationalError

    from dashboard import tasks

    def refused(*args: object, **kwargs: object) -> None:
        raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(tasks.refresh_overview, "apply_async", refused)
    first = overview(Period.DAYS_7, now=NOW)
    assert overview(Period.DAYS_7, now=NOW + timedelta(minutes=5)).computed_at == first.computed_at


def test_figures_that_change_with_the_pipelines_are_computed_once_per_run(week):
    from infrastructure import cache as generations

    overview(Period.DAYS_7, now=NOW)
    assert overview_compute(Period.DAYS_30, now=NOW).coverage.browsable == 1
    ProductFactory.create()
    assert overview_compute(Period.DAYS_30, now=NOW).coverage.browsable == 1
    generations.generation_bump(generations.SIMILARITY)
    assert overview_compute(Period.DAYS_30, now=NOW).coverage.browsable == 2


def test_the_overview_shows_each_shelfs_click_through_rate(client):
    from tracking.impressions import Shown, impression_record, impressions_flush
    from tracking.models import RECOMMENDATION_ID

    mug = ProductFactory.create()
    for _ in range(4):
        shown = impression_record(Shown(surface="home_for_you", products=[mug.pk], visitor="ann"))
    EventFactory.create(product=mug, metadata={RECOMMENDATION_ID: shown})
    impressions_flush()
    client.force_login(role_member("Analyst", is_staff=True))
    page = client.get(reverse("dashboard:overview"), {"period": "7d"}).content.decode()
    assert "Click-through rate per shelf" in page
    row = re.search(r"<th scope=\"row\">home_for_you</th>(.*?)</tr>", page)
    assert row is not None
    assert re.findall(r"<td>([^<]*)</td>", row.group(1))[:3] == ["4", "1", "25%"]


def test_an_experiments_page_shows_its_lift_conversion_and_sample_ratio(client):
    from recommender.models import Experiment, ExperimentStatus, ExperimentVariant
    from tracking.models import RECOMMENDATION_ID, Impression, Visitor

    experiment = Experiment.objects.create(
        slug="diversity", hypothesis="Fewer of a kind sells more.",
        status=ExperimentStatus.RUNNING, started_at=NOW - timedelta(days=2),
    )  # fmt: skip
    ExperimentVariant.objects.create(experiment=experiment, name="a", share=50, is_control=True)
    ExperimentVariant.objects.create(
        experiment=experiment, name="b", share=50, configuration="diverse"
    )
    mug = ProductFactory.create()
    for variant, clicks in (("a", [1, 0, 0, 1, 0, 1]), ("b", [1, 1, 0, 1, 1, 1])):
        for i, clicked in enumerate(clicks):
            visitor = Visitor.objects.create(external_id=f"{variant}{i}")
            rid = f"{variant}{i}".ljust(32, "0")
            Impression.objects.create(
                impression_id=rid, shown_at=NOW - timedelta(days=1), visitor=visitor,
                surface="home_for_you", experiment="diversity", variant=variant,
                products=[mug.pk],
            )  # fmt: skip
            if clicked:
                EventFactory.create(visitor=visitor, product=mug, metadata={RECOMMENDATION_ID: rid},
                                    occurred_at=NOW - timedelta(days=1))  # fmt: skip
    client.force_login(role_member("Analyst", is_staff=True))
    listing = client.get(reverse("dashboard:experiments")).content.decode()
    assert "diversity" in listing
    page = client.get(reverse("dashboard:experiment", args=["diversity"])).content.decode()
    assert page.count('<svg class="chart"') == 2
    assert "Lift of Click-through rate against the control" in page
    assert "Sample ratio as designed" in page
    assert "Preliminary" in page
    assert client.get(reverse("dashboard:experiment", args=["nope"])).status_code == 404
