"""The operators' dashboard on the large store: 100,000 products, 5,000,000 events.

Seeds the large demo store into its own database (BENCH_DASHBOARD_DATABASE_URL, default
`shopsmart_bench_dashboard`; kept between runs, reseeded with --reseed), runs the trending and
similarity pipelines and places 2,000 orders through checkout, then renders /dashboard/ for a
staff user in-process (the same view, selectors and templates a browser gets), 20 times per
period: cold (the whole cache emptied: a first visit after a deploy or a flush), minute (only
the period's figures recomputed, as the background refresh does each minute while someone
looks; coverage and trending are kept per pipeline run) and warm (what the page shows from the
cache, fresh or while a refresh runs behind it).
Prints a table and writes bench/results/dashboard.json.

    python bench/dashboard_render.py [--reseed]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import RESULTS, SIZES, ensure_database, manage

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/shopsmart_bench_dashboard"
RENDERS = 20

MEASURE = """
import json, random, statistics, time
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from catalog.models import Order, Product
from catalog.services import CheckoutDetails, CheckoutError, order_place
from tracking.models import Visitor
from tracking.services import visitor_ids_get_or_create

if not Order.objects.exists():
    rng = random.Random(42)
    products = list(
        Product.objects.filter(is_active=True, stock__gt=100).values_list("id", flat=True)[:5000]
    )
    visitors = list(Visitor.objects.values_list("external_id", flat=True)[:20000])
    details = CheckoutDetails("Bench Shopper", "bench@example.com", "1 Road", "pay_on_delivery")
    for n in range(2000):
        try:
            order_place(
                checkout_token=f"bench-{n}",
                quantities={p: rng.randint(1, 3) for p in rng.sample(products, rng.randint(1, 4))},
                details=details,
                visitor_id=visitor_ids_get_or_create(external_ids=[v := rng.choice(visitors)])[v],
                user=None,
            )
        except CheckoutError:
            pass  # sold out meanwhile: a shopper would change the cart

staff, _ = User.objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
client = Client()
client.force_login(staff)
results = []
from dashboard.overview import overview_key
for period in ("today", "7d", "30d"):
    for state in ("cold", "minute", "warm"):
        times = []
        for _ in range(RENDERS):
            if state == "cold":
                cache.clear()
            elif state == "minute":
                cache.delete(overview_key(period))
            started = time.perf_counter()
            response = client.get("/dashboard/", {"period": period})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        times.sort()
        results.append({
            "period": period, "cache": state,
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
            "max_ms": round(times[-1], 1),
        })
print(json.dumps(results))
""".replace("RENDERS", str(RENDERS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reseed", action="store_true", help="seed the large store again")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DASHBOARD_DATABASE_URL", DEFAULT_URL)
    # As served: DEBUG off (no query log), quiet logs; the test client's host allowed.
    os.environ |= {"DEBUG": "false", "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "testserver"}
    ensure_database(url)
    manage(url, "migrate", "--no-input", "-v0")
    empty = "from tracking.models import Event; print(int(not Event.objects.exists()))"
    if args.reseed or manage(url, "shell", "-c", empty).stdout.strip() == "1":
        print("Seeding the large store (about 2 minutes) and running the pipelines ...")
        manage(url, "seed_demo", "--flush", "--seed", "42", "--verbosity", "0", *SIZES["large"])
        manage(url, "compute_trending", "--verbosity", "0")
        manage(url, "compute_similarity", "--verbosity", "0")
    RESULTS.mkdir(parents=True, exist_ok=True)
    finished = manage(url, "shell", "--verbosity", "0", "-c", MEASURE)
    results = json.loads(finished.stdout.strip().splitlines()[-1])
    print(f"/dashboard/ on 5,000,000 events, {RENDERS} renders each (in-process, ms)")
    print(f"{'period':<8}{'cache':<7}{'p50':>9}{'p95':>9}{'max':>9}")
    for row in results:
        print(
            f"{row['period']:<8}{row['cache']:<7}"
            f"{row['p50_ms']:>9}{row['p95_ms']:>9}{row['max_ms']:>9}"
        )
    (RESULTS / "dashboard.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
