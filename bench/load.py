"""A sale's traffic on the large store: 64 shoppers for 60 s, then every event and order counted.

The large demo store (100,000 products, 50,000 visitors, 5,000,000 events; seeded once into
BENCH_LOAD_DATABASE_URL, default `shopsmart_bench_load`, and kept; --reseed seeds it again) with
its pipelines run, served by gunicorn as the Dockerfile runs it (3 sync workers, DEBUG off) on
PostgreSQL + Redis over loopback. Each client thread plays one shopper after another (7 in 10
returning visitors with a history, the rest new), keeping cookies as a browser does:

    home, a category, a search, two product pages (each records a view), the visitor's
    recommendations (API, token), a batch of 3 events (API, token), then half of the
    visits add a product to the cart (a form post with its CSRF token) and half of those check
    out (the checkout form, then placing the order).

Afterwards the database is read: every event and order a client was told was stored must be
there once, every product page and cart addition must have left its event, and every order its
lines, its purchase events and its stock taken. Prints throughput and p50/p95/p99 per request
type and the accounting, and writes bench/results/load.json.

    python bench/load.py [--clients 64] [--seconds 60] [--reseed]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import DEFAULT_REDIS, PORT, shell, start_server
from run import RESULTS, SIZES, ensure_database, manage

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/shopsmart_bench_load"
PIPELINES = (
    "compute_trending",
    "compute_similarity",
    "compute_content_similarity",
    "compute_bought_together",
    "compute_ranking",
)
# What the clients browse: returning shoppers, categories, products in stock, search words.
STORE = """
import json, random
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from catalog.models import Category, Product
from tracking.models import Visitor
rng = random.Random(7)
user, _ = User.objects.get_or_create(username="bench-load")
user.groups.add(Group.objects.get(name="API client"))  # it acts for the shop's visitors
products = list(Product.objects.browsable().filter(stock__gte=50).order_by("id")[:20000])
words = sorted({w for p in products[:2000] for w in p.name.lower().split() if len(w) > 3})
print(json.dumps({
    "token": Token.objects.get_or_create(user=user)[0].key,
    "visitors": list(Visitor.objects.filter(user__isnull=True).order_by("id")
                     .values_list("external_id", flat=True)[:5000]),
    "categories": list(Category.objects.values_list("slug", flat=True)),
    "products": [[p.pk, p.get_absolute_url()]
                 for p in rng.sample(products, min(5000, len(products)))],
    "words": rng.sample(words, min(300, len(words))),
}))
"""
MARKS = """
import json
from catalog.models import Order
from tracking.models import Event
from django.db.models import Sum
from catalog.models import Product
last = lambda model: model.objects.order_by("-id").values_list("id", flat=True).first() or 0
print(json.dumps({"event": last(Event), "order": last(Order),
                  "stock": Product.objects.aggregate(s=Sum("stock"))["s"] or 0}))
"""
# What the run left in the database, by what wrote it.
ACCOUNTS = """
import json
from django.db.models import Count, F, Q, Sum
from catalog.models import Order, OrderLine, Product
from tracking.models import Event, EventSource, EventType
marks = json.loads('MARKS')
events = Event.objects.filter(id__gt=marks["event"])
orders = Order.objects.filter(id__gt=marks["order"])
lines = OrderLine.objects.filter(order__in=orders)
print(json.dumps({
    "api_event_ids": list(events.filter(source=EventSource.API).values_list("event_id", flat=True)),
    "storefront": dict(events.filter(source=EventSource.STOREFRONT).values_list("event_type")
                       .annotate(n=Count("id")).values_list("event_type", "n")),
    "orders": list(orders.values_list("number", flat=True)),
    "orders_without_lines": orders.annotate(n=Count("lines")).filter(n=0).count(),
    "order_lines": lines.count(),
    "units_sold": lines.aggregate(units=Sum("quantity"))["units"] or 0,
    "purchase_events": events.filter(event_type=EventType.PURCHASE).count(),
    "negative_stock": Product.objects.filter(stock__lt=0).count(),
    "stock": Product.objects.aggregate(s=Sum("stock"))["s"] or 0,
}))
"""
KINDS = ("home", "category", "search", "product", "recommendations", "events", "add to cart",
         "checkout", "place order")  # fmt: skip
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CHECKOUT_TOKEN = re.compile(r'name="token" value="([0-9a-f]+)"')
ORDER_PATH = re.compile(r"/orders/([^/]+)/$")


@dataclass
class Tally:
    """What one client saw: latencies by request type, and what it was told was stored."""

    # (monotonic time at the start, request type, status or 0 for no answer, seconds taken)
    timeline: list[tuple[float, str, int, float]] = field(default_factory=list)
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unexpected: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    event_ids: list[str] = field(default_factory=list)
    # Every batch posted (acknowledged or not): each must be stored whole or not at all.
    batches: list[list[str]] = field(default_factory=list)
    views: int = 0
    cart_adds: int = 0
    orders: list[str] = field(default_factory=list)
    sold_out: int = 0


class Shopper:
    """One browser: a keep-alive connection and its cookies."""

    def __init__(self, tally: Tally, visitor: str | None) -> None:
        self.tally = tally
        self.cookies: dict[str, str] = {"shopsmart_visitor": visitor} if visitor else {}
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)

    def request(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        expected: tuple[int, ...] = (200,),
    ) -> tuple[int, str, dict[str, str]]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.monotonic()
        try:
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
            text = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.tally.errors[kind] += 1
            self.tally.timeline.append((started, kind, 0, time.monotonic() - started))
            self.connection.close()
            return 0, "", {}
        self.tally.seconds[kind].append(time.monotonic() - started)
        self.tally.timeline.append((started, kind, response.status, time.monotonic() - started))
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        if response.status >= 500:
            self.tally.errors[kind] += 1
        elif response.status not in expected:
            self.tally.unexpected[kind].append(response.status)
        return response.status, text, dict(response.headers)

    def form(self, kind: str, path: str, fields: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        return self.request(
            kind,
            "POST",
            path,
            body="&".join(f"{k}={quote(v)}" for k, v in fields.items()),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            expected=(302,),
        )


def visit(shopper: Shopper, store: dict[str, Any], rng: random.Random, run: str) -> None:
    tally = shopper.tally
    shopper.request("home", "GET", "/")
    shopper.request("category", "GET", f"/c/{rng.choice(store['categories'])}/")
    shopper.request("search", "GET", f"/search/?q={quote(rng.choice(store['words']))}")
    page = ""
    product = 0
    for _ in range(2):
        product, path = rng.choice(store["products"])
        status, page, _ = shopper.request("product", "GET", path)
        tally.views += status == 200
    visitor = shopper.cookies.get("shopsmart_visitor", "")
    api = {"Authorization": f"Token {store['token']}"}
    shopper.request("recommendations", "GET", f"/api/recommendations?visitor={visitor}&k=10",
                    headers=api)  # fmt: skip
    batch = [
        {"event_id": f"{run}-{uuid.uuid4().hex}", "visitor": visitor, "event_type": "view",
         "product": rng.choice(store["products"])[0]}
        for _ in range(3)
    ]  # fmt: skip
    status, _, _ = shopper.request(
        "events", "POST", "/api/events", body=json.dumps(batch),
        headers={**api, "Content-Type": "application/json"}, expected=(201,),
    )  # fmt: skip
    tally.batches.append([event["event_id"] for event in batch])
    if status == 201:
        tally.event_ids += tally.batches[-1]
    csrf = CSRF.search(page)
    if rng.random() >= 0.5 or csrf is None:
        return
    status, _, headers = shopper.form(
        "add to cart", f"/cart/add/{product}/",
        {"csrfmiddlewaretoken": csrf.group(1), "quantity": "1"},
    )  # fmt: skip
    if status != 302 or not headers.get("Location", "").endswith("/cart/"):
        return
    tally.cart_adds += 1
    if rng.random() >= 0.5:
        return
    status, page, _ = shopper.request("checkout", "GET", "/checkout/")
    csrf, token = CSRF.search(page), CHECKOUT_TOKEN.search(page)
    if status != 200 or csrf is None or token is None:
        return
    status, _, headers = shopper.form(
        "place order", "/checkout/",
        {"csrfmiddlewaretoken": csrf.group(1), "token": token.group(1),
         "full_name": "Load Shopper", "email": "load@example.com", "address": "1 Bench Road",
         "payment_method": "pay_on_delivery"},
    )  # fmt: skip
    placed = ORDER_PATH.search(headers.get("Location", ""))
    if placed:
        tally.orders.append(placed.group(1))
    elif status == 302:
        tally.sold_out += 1  # back to the cart: a product sold out meanwhile


def client(store: dict[str, Any], until: float, seed: int, run: str, tally: Tally) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        returning = rng.random() < 0.7
        shopper = Shopper(tally, rng.choice(store["visitors"]) if returning else None)
        visit(shopper, store, rng, run)
        shopper.connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


def store_prepare(url: str, size: list[str], *, reseed: bool) -> dict[str, Any]:
    """Seed the store once (or again with reseed), run its pipelines, and say what to browse."""
    ensure_database(url)
    manage(url, "migrate", "--no-input", "-v0")
    if reseed or json.loads(shell(url, MARKS))["event"] == 0:
        print("Seeding the store and running its pipelines ...")
        manage(url, "seed_demo", "--flush", "--seed", "42", "--verbosity", "0", *size)
        for pipeline in PIPELINES:
            manage(url, pipeline, "--verbosity", "0")
    store: dict[str, Any] = json.loads(shell(url, STORE))
    return store


def shoppers_run(
    store: dict[str, Any], *, clients: int, seconds: float, run: str
) -> tuple[list[Tally], float]:
    """`clients` threads playing shoppers for `seconds`; what each saw, and the time taken."""
    tallies = [Tally() for _ in range(clients)]
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client, args=(store, until, n, run, tallies[n]))
        for n in range(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tallies, time.monotonic() - started


def requests_report(tallies: list[Tally], elapsed: float) -> list[dict[str, Any]]:
    """Throughput and latency per request type, printed as a table."""
    rows = []
    print(f"{'request':<18}{'count':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'5xx/conn':>10}{'other':>7}")  # fmt: skip
    for kind in KINDS:
        seconds = [s for t in tallies for s in t.seconds[kind]]
        errors = sum(t.errors[kind] for t in tallies)
        unexpected = [status for t in tallies for status in t.unexpected[kind]]
        row = {
            "request": kind,
            "count": len(seconds),
            "per_second": round(len(seconds) / elapsed, 1),
            "p50_ms": round(statistics.median(seconds) * 1000, 1) if seconds else None,
            "p95_ms": round(percentile(seconds, 0.95), 1) if seconds else None,
            "p99_ms": round(percentile(seconds, 0.99), 1) if seconds else None,
            "server_errors": errors,
            "unexpected_statuses": sorted(set(unexpected)),
        }
        rows.append(row)
        latencies = "".join(f"{row[p]!s:>9}" for p in ("p50_ms", "p95_ms", "p99_ms"))
        print(f"{kind:<18}{len(seconds):>8}{row['per_second']:>8}{latencies}"
              f"{errors:>10}{len(unexpected):>7}")  # fmt: skip
    total = sum(len(t.seconds[kind]) for t in tallies for kind in KINDS)
    print(f"{'all':<18}{total:>8}{total / elapsed:>8.1f}")
    return rows


def accounts_report(url: str, marks: str, run: str, tallies: list[Tally]) -> dict[str, int]:
    """What the clients were told was stored against what the database holds, printed."""
    stored = json.loads(shell(url, ACCOUNTS.replace("MARKS", marks)))
    stock_before = json.loads(marks)["stock"]
    sent_ids = [event_id for t in tallies for event_id in t.event_ids]
    stored_ids = [i for i in stored["api_event_ids"] if i.startswith(run)]
    stored_set = set(stored_ids)
    placed = sorted(number for t in tallies for number in t.orders)
    accounts = {
        "api_events_acknowledged": len(sent_ids),
        "api_events_stored": len(stored_ids),
        "api_events_missing": len(set(sent_ids) - stored_set),
        "api_events_stored_twice": len(stored_ids) - len(stored_set),
        "api_batches_stored_in_part": sum(
            0 < len(stored_set.intersection(batch)) < len(batch)
            for t in tallies
            for batch in t.batches
        ),
        "product_pages_served": sum(t.views for t in tallies),
        "view_events_stored": stored["storefront"].get("view", 0),
        "cart_additions_acknowledged": sum(t.cart_adds for t in tallies),
        "add_to_cart_events_stored": stored["storefront"].get("add_to_cart", 0),
        "orders_confirmed": len(placed),
        "orders_stored": len(stored["orders"]),
        "orders_missing": len(set(placed) - set(stored["orders"])),
        "orders_without_lines": stored["orders_without_lines"],
        "checkouts_refused_sold_out": sum(t.sold_out for t in tallies),
        "order_lines": stored["order_lines"],
        "purchase_events_stored": stored["purchase_events"],
        "units_sold": stored["units_sold"],
        "stock_taken": stock_before - stored["stock"],
        "products_with_negative_stock": stored["negative_stock"],
    }
    for name, value in accounts.items():
        print(f"  {name.replace('_', ' ')}: {value}")
    return accounts


def inconsistencies(accounts: dict[str, int]) -> int:
    """Events or orders lost, doubled or half-written: 0 when everything adds up."""
    return (
        accounts["api_events_missing"] + accounts["api_events_stored_twice"]
        + accounts["api_batches_stored_in_part"]
        + accounts["orders_missing"] + accounts["orders_without_lines"]
        + accounts["products_with_negative_stock"]
        + abs(accounts["purchase_events_stored"] - accounts["order_lines"])
        + abs(accounts["stock_taken"] - accounts["units_sold"])
    )  # fmt: skip


def gunicorn_as_deployed(url: str, redis_url: str, **env: str) -> subprocess.Popen[bytes]:
    """gunicorn with the Dockerfile's options: 3 sync workers, 30 s worker timeout."""
    return start_server(url, redis_url, "--config", "python:shopsmart.gunicorn_conf",
                        "--workers", "3", "--timeout", "30", environment=env)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--reseed", action="store_true", help="seed the large store again")
    args = parser.parse_args()
    url = os.environ.get("BENCH_LOAD_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    store = store_prepare(url, SIZES["large"], reseed=args.reseed)
    marks = shell(url, MARKS)
    server = gunicorn_as_deployed(url, redis_url)
    run = f"load-{uuid.uuid4().hex[:8]}"
    try:
        tallies, elapsed = shoppers_run(store, clients=args.clients, seconds=args.seconds, run=run)
    finally:
        server.terminate()
        server.wait()
    print(f"{args.clients} clients, {elapsed:.0f} s, gunicorn 3 sync workers, large store")
    rows = requests_report(tallies, elapsed)
    accounts = accounts_report(url, marks, run, tallies)
    # Without faults every acknowledged page and cart addition has its event, and every
    # confirmed order is all there is.
    lost = inconsistencies(accounts) + sum(
        abs(accounts[stored] - accounts[told])
        for stored, told in (
            ("view_events_stored", "product_pages_served"),
            ("add_to_cart_events_stored", "cart_additions_acknowledged"),
            ("orders_stored", "orders_confirmed"),
        )
    )
    RESULTS.mkdir(exist_ok=True)
    figures = {"clients": args.clients, "seconds": round(elapsed, 1), "requests": rows}
    (RESULTS / "load.json").write_text(json.dumps(figures | {"accounts": accounts}, indent=2))
    errors = sum(sum(t.errors.values()) for t in tallies)
    if lost or errors:
        sys.exit(f"FAILED: {errors} server errors, {lost} events or orders unaccounted for")


if __name__ == "__main__":
    main()
