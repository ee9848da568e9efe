"""Writes generated demo data into the store: one transaction, bulk inserts, a progress bar."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from tqdm import tqdm

from catalog.models import Category, Order, OrderLine, OrderStatus, PaymentStatus, Product, Review
from catalog.payments import PayOnDelivery
from catalog.placeholders import placeholder_url
from catalog.services import product_ratings_refresh
from infrastructure.bulk import indexes_deferred, insert_frame, tables_emptied
from tracking.demo.generator import DemoData
from tracking.models import EVENT_TYPE_CODES, Event, EventSource, Visitor
from tracking.signals import store_flushing
from tracking.vocabulary import PURCHASE

# Stored event type for each generator code (the generator uses the algorithms' codes).
EVENT_TYPE_VALUES = np.array(sorted(EVENT_TYPE_CODES, key=EVENT_TYPE_CODES.__getitem__))
EVENT_CHUNK = 250_000

# Children before parents, so DELETE works on databases without TRUNCATE ... CASCADE.
STORE_MODELS = (
    Review,
    OrderLine,
    Order,
    Event,
    Visitor,
    Product,
    Category,
)


class StoreNotEmptyError(Exception):
    pass


def store_is_empty() -> bool:
    return not (
        Category.objects.exists()
        or Product.objects.exists()
        or Visitor.objects.exists()
        or Event.objects.exists()
    )


@transaction.atomic
def store_flush() -> None:
    """Delete the catalog, shoppers, events and everything computed from them.

    Staff accounts, API tokens of staff and the beat schedule are kept.
    """
    # What the higher apps computed from the store goes first (store_flushing's receivers).
    store_flushing.send(sender=Event)
    tables_emptied(STORE_MODELS)
    get_user_model().objects.filter(is_staff=False, is_superuser=False).delete()


def demo_store_load(
    *,
    data: DemoData,
    end: datetime,
    flush: bool = False,
    shopper_password: str | None = None,
    progress_stream: IO[str] | None = None,
) -> dict[str, int]:
    """Write the generated store in one transaction; return how many rows of each kind."""
    with transaction.atomic():
        if flush:
            store_flush()
        elif not store_is_empty():
            raise StoreNotEmptyError(
                "The store already has data. Use --flush to replace it with demo data."
            )
        with _progress(len(data.events) + 4, progress_stream) as bar:
            category_ids = _load_categories(data)
            bar.update(1)
            product_ids = _load_products(data, category_ids)
            bar.update(1)
            visitor_ids, user_ids = _load_visitors(data, end, shopper_password)
            bar.update(1)
            orders = _load_orders(data, end, product_ids, visitor_ids, user_ids)
            with indexes_deferred(Event):
                for inserted in _load_events(data, end, product_ids, visitor_ids):
                    bar.update(inserted)
            reviews = _load_reviews(data, end, product_ids, visitor_ids, user_ids)
            product_ratings_refresh()
            bar.update(1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "categories": len(category_ids),
        "products": len(product_ids),
        "visitors": len(visitor_ids),
        "events": len(data.events),
        "orders": orders,
        "reviews": reviews,
    }


def _progress(total: int, stream: IO[str] | None) -> tqdm[Any]:
    return tqdm(
        total=total,
        disable=stream is None,
        file=stream,
        unit=" rows",
        unit_scale=True,
        desc="Loading demo data",
    )


def _load_categories(data: DemoData) -> list[int]:
    ids: list[int] = []
    for category in data.categories:
        parent_id = ids[category.parent] if category.parent is not None else None
        created = Category.objects.create(
            name=category.name,
            slug=category.slug,
            description=category.description,
            parent_id=parent_id,
        )
        ids.append(created.pk)
    return ids


def _external_ids(prefix: str, count: int) -> pd.Series:
    return prefix + pd.Series(np.arange(1, count + 1)).astype(str).str.zfill(6)


def _load_products(data: DemoData, category_ids: list[int]) -> np.ndarray:
    products = data.products
    n = len(products)
    now = timezone.now()
    external_id = _external_ids("DEMO-", n)
    category_slug = np.array([category.slug for category in data.categories])[products.category]
    image_url = [
        placeholder_url(theme=slug, key=key.lower())
        for slug, key in zip(category_slug, external_id, strict=True)
    ]
    # Spread creation over the last months so "newest" means something on the pages.
    created = pd.Timestamp(now) - pd.to_timedelta(
        np.random.default_rng(data.config.seed).uniform(0, 180, n), unit="D"
    )
    frame = pd.DataFrame(
        {
            "external_id": external_id,
            "name": products.names,
            "slug": [slugify(name) for name in products.names],
            "description": products.descriptions,
            "price": _amounts(products.price_pence),
            "image_url": image_url,
            "category_id": np.asarray(category_ids)[products.category],
            "is_active": products.is_active,
            "stock": products.stock,
            "average_rating": "0",
            "review_count": 0,
            "metadata": "{}",
            "created_at": created,
            "updated_at": pd.Timestamp(now),
        }
    )
    insert_frame(Product, frame)
    return _ids_by_external_id(Product.objects.filter(external_id__startswith="DEMO-"), n)


def _ids_by_external_id(queryset: object, count: int) -> np.ndarray:
    """Database ids in generator order: the external ids are zero-padded, so they sort."""
    rows = queryset.order_by("external_id").values_list("id", flat=True)  # type: ignore[attr-defined]
    ids = np.fromiter(rows, dtype=np.int64, count=count)
    return ids


def _load_visitors(
    data: DemoData, end: datetime, shopper_password: str | None
) -> tuple[np.ndarray, np.ndarray]:
    visitors = data.visitors
    n = len(visitors)
    seed = data.config.seed
    registered = np.flatnonzero(~visitors.is_anonymous)
    user_model = get_user_model()
    # One hash for every demo shopper: hashing thousands of passwords would take minutes.
    password = make_password(shopper_password) if shopper_password else None
    users = [
        user_model(
            username=f"shopper{i + 1:06d}",
            email=f"shopper{i + 1:06d}@example.com",
            password=password or make_password(None),
            date_joined=end,
        )
        for i in registered
    ]
    user_model.objects.bulk_create(users, batch_size=2_000)
    user_id_by_name = dict(
        user_model.objects.filter(username__startswith="shopper").values_list("username", "id")
    )
    user_ids = np.zeros(n, dtype=np.int64)
    for i in registered:
        user_ids[i] = user_id_by_name[f"shopper{i + 1:06d}"]

    # Anonymous shoppers get cookie-like ids; registered ones a customer number.
    external_id = [
        f"customer-{i + 1:06d}"
        if not visitors.is_anonymous[i]
        else hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=16).hexdigest()
        for i in range(n)
    ]
    # A shopper was created at their first event and last seen at their latest one.
    oldest = np.zeros(n)
    newest = np.full(n, np.inf)
    np.maximum.at(oldest, data.events.visitor, data.events.seconds_before_end)
    np.minimum.at(newest, data.events.visitor, data.events.seconds_before_end)
    end_ts = pd.Timestamp(end)
    seen = np.isfinite(newest)
    frame = pd.DataFrame(
        {
            "external_id": external_id,
            "user_id": _nullable_ids(user_ids),
            "is_anonymous": visitors.is_anonymous,
            "created_at": end_ts - pd.to_timedelta(np.where(seen, oldest + 60.0, 0.0), unit="s"),
            "last_seen_at": end_ts - pd.to_timedelta(np.where(seen, newest, np.nan), unit="s"),
        }
    )
    insert_frame(Visitor, frame)
    id_by_external = dict(Visitor.objects.values_list("external_id", "id"))
    visitor_ids = np.array([id_by_external[e] for e in external_id], dtype=np.int64)
    return visitor_ids, user_ids


def _load_events(
    data: DemoData, end: datetime, product_ids: np.ndarray, visitor_ids: np.ndarray
) -> Iterator[int]:
    events = data.events
    seed = data.config.seed
    end_ts = pd.Timestamp(end)
    price = data.products.price_pence
    for start in range(0, len(events), EVENT_CHUNK):
        stop = min(start + EVENT_CHUNK, len(events))
        chunk = slice(start, stop)
        event_type = events.event_type[chunk]
        product = events.product[chunk]
        occurred_at = end_ts - pd.to_timedelta(events.seconds_before_end[chunk], unit="s")
        amount = _amounts(price[product])
        purchase = event_type == PURCHASE
        order_ref = _order_numbers(events.session[chunk])
        purchase_metadata = (
            '{"order": "' + order_ref + '", "quantity": 1, "unit_price": "' + amount + '"}'
        )

        frame = pd.DataFrame(
            {
                "event_id": f"demo-{seed}-" + pd.Series(np.arange(start, stop)).astype(str),
                "visitor_id": visitor_ids[events.visitor[chunk]],
                "product_id": product_ids[product],
                "event_type": EVENT_TYPE_VALUES[event_type],
                "occurred_at": occurred_at,
                "session_id": f"demo-{seed}-" + pd.Series(events.session[chunk]).astype(str),
                "source": EventSource.DEMO.value,
                "metadata": np.where(purchase, purchase_metadata, json.dumps({})),
                # Each demo purchase is one unit at the product's price, a line of its
                # session's order (tracking.sales).
                "quantity": 1,
                "revenue": amount.where(purchase),
                "order_ref": np.where(purchase, order_ref, ""),
                "created_at": occurred_at,
            }
        )
        yield insert_frame(Event, frame)


# Demo orders placed more than this long before the end have been shipped and paid.
SHIPPING_DAYS = 2


def _amounts(pence: np.ndarray) -> pd.Series:
    """Prices in pence as the decimal strings the database stores ("12.99")."""
    amounts = pd.Series(pence)
    return (amounts // 100).astype(str) + "." + (amounts % 100).astype(str).str.zfill(2)


def _order_numbers(sessions: np.ndarray) -> pd.Series:
    """A demo session's order number (16 characters, the column's width)."""
    return "DEMO" + pd.Series(sessions).astype(str).str.zfill(12)


def _load_orders(
    data: DemoData,
    end: datetime,
    product_ids: np.ndarray,
    visitor_ids: np.ndarray,
    user_ids: np.ndarray,
) -> int:
    """One order per session with purchases (the demo's checkout ends its session): a line
    per product bought, placed at the session's last purchase, so the dashboard's orders and
    revenue match the demo's purchase events."""
    events = data.events
    bought = np.flatnonzero(events.event_type == PURCHASE)
    if not len(bought):
        return 0
    lines = (
        pd.DataFrame(
            {
                "session": events.session[bought],
                "visitor": events.visitor[bought],
                "product": events.product[bought],
                "seconds_before_end": events.seconds_before_end[bought],
            }
        )
        .groupby(["session", "product"], sort=True)
        .agg(
            visitor=("visitor", "first"),
            quantity=("visitor", "size"),
            seconds_before_end=("seconds_before_end", "min"),
        )
        .reset_index()
    )
    pence = data.products.price_pence[lines["product"].to_numpy()]
    lines["pence"] = pence * lines["quantity"].to_numpy()
    orders = lines.groupby("session", sort=True).agg(
        visitor=("visitor", "first"),
        pence=("pence", "sum"),
        seconds_before_end=("seconds_before_end", "min"),
    )
    number = _order_numbers(orders.index.to_numpy())
    placed = pd.Timestamp(end) - pd.to_timedelta(orders["seconds_before_end"].to_numpy(), unit="s")
    shipped = orders["seconds_before_end"].to_numpy() > SHIPPING_DAYS * 86_400
    visitor = orders["visitor"].to_numpy()
    user = user_ids[visitor]
    frame = pd.DataFrame(
        {
            "number": number,
            "checkout_token": "demo-" + number,
            "visitor_id": visitor_ids[visitor],
            "user_id": _nullable_ids(user),
            "full_name": np.where(user > 0, "Demo shopper", "Demo guest"),
            "email": "shopper" + pd.Series(visitor + 1).astype(str).str.zfill(6) + "@example.com",
            "address": "1 Demo Street, Demotown",
            "status": np.where(shipped, OrderStatus.SHIPPED.value, OrderStatus.PLACED.value),
            "payment_method": PayOnDelivery.code,
            "payment_status": np.where(
                shipped, PaymentStatus.PAID.value, PaymentStatus.DUE_ON_DELIVERY.value
            ),
            "total": _amounts(orders["pence"].to_numpy()),
            "created_at": placed,
            "updated_at": placed,
        }
    )
    insert_frame(Order, frame)
    order_ids = dict(Order.objects.filter(number__startswith="DEMO").values_list("number", "id"))
    names = np.asarray(data.products.names, dtype=object)
    insert_frame(
        OrderLine,
        pd.DataFrame(
            {
                "order_id": _order_numbers(lines["session"].to_numpy()).map(order_ids),
                "product_id": product_ids[lines["product"].to_numpy()],
                "product_name": names[lines["product"].to_numpy()],
                "unit_price": _amounts(data.products.price_pence[lines["product"].to_numpy()]),
                "quantity": lines["quantity"].to_numpy(),
            }
        ),
    )
    return len(frame)


def _load_reviews(
    data: DemoData,
    end: datetime,
    product_ids: np.ndarray,
    visitor_ids: np.ndarray,
    user_ids: np.ndarray,
) -> int:
    reviews = data.reviews
    users = user_ids[reviews.visitor]
    frame = pd.DataFrame(
        {
            "product_id": product_ids[reviews.product],
            "visitor_id": visitor_ids[reviews.visitor],
            "user_id": _nullable_ids(users),
            "rating": reviews.rating,
            "comment": reviews.comments,
            "created_at": pd.Timestamp(end) - pd.to_timedelta(reviews.seconds_before_end, unit="s"),
        }
    )
    return insert_frame(Review, frame)


def _nullable_ids(ids: np.ndarray) -> pd.arrays.IntegerArray:
    """Database ids where 0 stands for "none" (anonymous shoppers have no user) -> NULL."""
    nullable = pd.array(ids, dtype="Int64")
    nullable[ids == 0] = pd.NA
    return nullable
