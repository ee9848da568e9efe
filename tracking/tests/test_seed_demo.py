from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Avg, Count, Sum
from django.urls import reverse

from catalog.models import Category, Order, OrderLine, Product, Review
from catalog.tests.factories import ProductFactory
from tracking.models import Event, EventType, Visitor

pytestmark = pytest.mark.django_db(transaction=True)

SMALL = [
    "--products",
    "120",
    "--visitors",
    "60",
    "--events",
    "3000",
    "--end",
    "2026-06-30T12:00:00Z",
]


def seed(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("seed_demo", *SMALL, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def snapshot():
    events = list(
        Event.objects.order_by("event_id").values_list(
            "event_id", "visitor__external_id", "product__external_id", "event_type", "occurred_at"
        )
    )
    products = list(
        Product.objects.order_by("external_id").values_list("external_id", "name", "price")
    )
    return events, products


def test_loads_the_requested_store():
    out, err = seed()
    assert Category.objects.count() == 10
    assert Product.objects.count() == 120
    assert Visitor.objects.count() == 60
    assert Visitor.objects.filter(is_anonymous=True).count() == 42
    assert Visitor.objects.filter(is_anonymous=False, user__isnull=False).count() == 18
    assert Event.objects.count() == 3000
    assert set(Event.objects.values_list("source", flat=True)) == {"demo"}
    assert "Loaded 10 categories, 120 products, 60 visitors, 3,000 events" in out
    assert "Loading demo data" in err  # the progress bar


def test_images_are_served_locally():
    seed()
    urls = set(Product.objects.values_list("image_url", flat=True))
    assert all(url.startswith("/img/placeholder/") and url.endswith(".svg") for url in urls)


def test_purchases_record_quantity_and_price():
    seed()
    purchase = Event.objects.filter(event_type=EventType.PURCHASE).select_related("product")[0]
    assert purchase.metadata == {
        "order": purchase.order_ref,
        "quantity": 1,
        "unit_price": str(purchase.product.price),
    }
    assert (purchase.quantity, purchase.revenue) == (1, purchase.product.price)


def test_every_demo_purchase_is_a_line_of_an_order_with_the_same_money():
    """A new owner's dashboard shows orders and revenue that match the orders table."""
    seed()
    purchases = Event.objects.filter(event_type=EventType.PURCHASE)
    orders = Order.objects.all()
    assert orders.count() == purchases.values("order_ref").distinct().count() > 0
    total = orders.aggregate(total=Sum("total"))["total"]
    revenue = purchases.aggregate(revenue=Sum("revenue"))["revenue"]
    # SQLite sums decimals as floats: compare to the cent.
    assert round(total, 2) == round(revenue, 2)
    assert OrderLine.objects.aggregate(n=Sum("quantity"))["n"] == purchases.count()
    assert set(orders.values_list("status", flat=True)) == {"placed", "shipped"}
    registered = orders.filter(visitor__is_anonymous=False).select_related("visitor")
    assert all(order.user_id == order.visitor.user_id for order in registered)


def test_ratings_are_aggregated_from_reviews():
    seed()
    assert Review.objects.exists()
    rows = Product.objects.annotate(n=Count("reviews"), avg=Avg("reviews__rating")).values_list(
        "review_count", "average_rating", "n", "avg"
    )
    for review_count, average_rating, count, average in rows:
        assert review_count == count
        if count:
            assert float(average_rating) == pytest.approx(average, abs=0.005)


def test_refuses_a_store_that_has_data_and_writes_nothing():
    ProductFactory.create()
    with pytest.raises(CommandError, match="--flush"):
        seed()
    assert Product.objects.count() == 1
    assert not Event.objects.exists()


def test_flush_replaces_the_store():
    kept = ProductFactory.create(name="Not a demo product")
    seed("--flush")
    assert not Product.objects.filter(pk=kept.pk).exists()
    assert Product.objects.count() == 120
    seed("--flush")
    assert Product.objects.count() == 120
    assert Event.objects.count() == 3000


def test_same_seed_gives_the_same_store():
    seed("--seed", "5")
    first = snapshot()
    seed("--seed", "5", "--flush")
    assert snapshot() == first
    seed("--seed", "6", "--flush")
    assert snapshot() != first


def test_timestamps_lie_inside_the_period():
    seed("--days", "30")
    times = Event.objects.order_by("occurred_at").values_list("occurred_at", flat=True)
    first, last = times[0], times.reverse()[0]
    assert (last - first).days <= 30
    assert last.isoformat() < "2026-06-30T12:00:00+00:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--products", "5"], "products"),
        (["--end", "yesterday"], "ISO"),
    ],
)
def test_bad_options_are_usage_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args, stdout=StringIO(), stderr=StringIO())
    assert not Product.objects.exists()


def test_non_positive_sizes_are_rejected_by_the_parser():
    with pytest.raises(CommandError, match="invalid"):
        call_command("seed_demo", "--events", "0", stdout=StringIO(), stderr=StringIO())


def test_shopper_password_lets_demo_shoppers_log_in(client):
    seed("--shopper-password", "demo-pass-123")
    user = Visitor.objects.filter(user__isnull=False).select_related("user")[0].user
    assert user is not None
    form = {"username": user.username, "password": "demo-pass-123"}
    assert client.post(reverse("login"), form)["Location"] == reverse("account")
