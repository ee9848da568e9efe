"""Storefront pages under load: gunicorn (2 workers) on PostgreSQL + Redis, driven by wrk.

The default demo store (as bench/api.py prepares it); ten shoppers with a history browse with
their visitor and session cookies, as a browser sends them: home, category pages, product
pages (each records a view, as in the shop) and searches, at 4, 16 and 32 concurrent clients
after one discarded warm-up second, each right after a run of `GET /api/ping` (the
framework's floor) at the same number of clients, as bench/api.py measures them.
Prints a table and writes bench/results/pages-load.json.

    python bench/pages.py [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import (
    THREADS,
    bench_setup,
    chosen,
    measure,
    prepare,
    shares_print,
    shell,
    start_server,
)
from run import RESULTS

CONCURRENCY = (4, 16, 32)
# Ten demo shoppers with a history, each with a session (as their browser would have), the
# category slugs and 200 product URLs.
PAGES_TO_VISIT = """
import json
from django.contrib.sessions.backends.cached_db import SessionStore
from catalog.models import Category, Product
from tracking.models import Visitor

def session_key():
    session = SessionStore()
    session.create()
    return session.session_key

shoppers = Visitor.objects.filter(events__isnull=False).distinct().order_by("id")
print(json.dumps({
    "cookies": [
        f"shopsmart_visitor={visitor}; sessionid={session_key()}"
        for visitor in shoppers.values_list("external_id", flat=True)[:10]
    ],
    "categories": list(Category.objects.values_list("slug", flat=True)),
    "products": [p.get_absolute_url() for p in Product.objects.browsable()[:200]],
}))
"""


def lua_table(name: str, values: list[str]) -> str:
    return f"local {name} = {{" + ",".join(json.dumps(v) for v in values) + "}\n"


def scenario_scripts(
    shoppers_cookies: list[str], categories: list[str], products: list[str]
) -> dict[str, str]:
    shoppers = (
        lua_table("cookies", shoppers_cookies)
        + THREADS
        + """
local function as_shopper(path)
  local cookie = cookies[(next_number() % #cookies) + 1]
  return wrk.format("GET", path, {["Cookie"] = cookie})
end
"""
    )
    terms = ["mug", "lamp", "tepot", "blanket", "ceramic", "cotton", "garden", "candle"]
    return {
        # The framework's floor, as bench/api.py measures it: pages are compared with it.
        "ping": 'wrk.path = "/api/ping"\n',
        "home": shoppers + 'function request() return as_shopper("/") end\n',
        "category": shoppers
        + lua_table("categories", categories)
        + """
function request()
  return as_shopper("/c/" .. categories[(next_number() % #categories) + 1] .. "/")
end
""",
        "product": shoppers
        + lua_table("products", products)
        + """
function request() return as_shopper(products[(next_number() % #products) + 1]) end
""",
        "search": shoppers
        + lua_table("terms", terms)
        + """
function request()
  return as_shopper("/search/?q=" .. terms[(next_number() % #terms) + 1])
end
""",
    }


def main() -> None:
    options = bench_setup(__doc__.splitlines()[0])
    prepare(options.url)
    pages = json.loads(shell(options.url, PAGES_TO_VISIT))
    server = start_server(options.url, options.redis_url)
    try:
        print(
            f"Shop pages on gunicorn (2 workers), PostgreSQL + Redis, wrk {options.seconds} s "
            "per run"
        )
        scripts = chosen(
            scenario_scripts(pages["cookies"], pages["categories"], pages["products"]),
            options.only,
        )
        results = measure(scripts, CONCURRENCY, options.seconds, rounds=options.rounds)
    finally:
        server.terminate()
        server.wait()
    shares_print(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pages-load.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
