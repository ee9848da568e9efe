"""API load benchmark: gunicorn (2 workers) on PostgreSQL + Redis, driven by wrk over loopback.

Seeds the default demo store into its own database (BENCH_API_DATABASE_URL, default
`shopsmart_bench_api`), runs the pipelines, starts gunicorn with DEBUG off and measures each
endpoint at 4 and 32 concurrent clients (after one discarded warm-up second): throughput,
p50 / p95 / p99 latency and errors. Each endpoint's run comes right after a run of ping, its
floor, at the same number of clients: this shared host's speed moves by a third within
minutes, so a floor measured once at the start made the shares of later runs drift with it.
With --rounds N each scenario is measured N times, back to back, and the median shares printed.
Needs wrk (`apt-get install wrk`). Prints a table and writes bench/results/api-<name>.json.

    python bench/api.py [--seconds 10] [--rounds 3] [--only TEXT ...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import RESULTS, ROOT, ensure_database, manage

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/shopsmart_bench_api"
DEFAULT_REDIS = "redis://127.0.0.1:6379/2"
CACHE_PREFIX = "bench-api"
PORT = 8765
CONCURRENCY = (4, 32)
MISSES = "recommendations (cache miss)"
SHOPPING = "recommendations (miss, shopping now)"
# Visitors who view SHOPPING_VIEWS products just before their scenario: each of their lists has
# a current session, so it is ranked by the live ranking (the path of a shopper browsing now).
SHOPPERS, SHOPPING_VIEWS = 200, 3
BATCHES = "POST events (batches of 500)"
BATCH = 500
# Seconds a client waits for an answer: wrk's 2 s, but for batches. 32 clients each sending 500
# events to 2 workers queue for seconds while every batch is stored: an app flushing its
# queue waits for that, where a shopper's page would not.
CLIENT_TIMEOUT = {BATCHES: 30}
RECS = "rec"  # infrastructure.cache.RECOMMENDATIONS
WRK = shutil.which("wrk") or "wrk"

# Prints wrk's figures as one JSON line; every scenario script ends with it.
DONE = """
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "errors": %d, "p50_ms": %.3f, "p95_ms": %.3f, '
    .. '"p99_ms": %.3f}\\n',
    summary.requests, summary.duration / 1e6, errors, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""
# Gives each wrk thread its own numbers, so generated requests never repeat across threads.
# thread_id is a global: setup() runs in wrk's main Lua state and thread:set() assigns the
# thread's globals, which a local of the same name would hide (it did until 2026-12-06, when
# both threads sent the same requests: a batch every other time a replay, a miss a hit).
THREADS = """
local counter = 0
thread_id = 0
local next_thread = 0
function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end
local function next_number()
  counter = counter + 1
  return counter * 2 + thread_id
end
"""


def scenario_scripts(token: str, visitors: list[str], product_ids: list[int]) -> dict[str, str]:
    auth = f'wrk.headers["Authorization"] = "Token {token}"\n'
    visitor_table = "local visitors = {" + ",".join(json.dumps(v) for v in visitors) + "}\n"
    product_table = "local products = {" + ",".join(str(p) for p in product_ids) + "}\n"
    terms = ["mug", "lamp", "tepot", "blanket", "ceramic", "cotton", "garden", "candle"]
    term_table = "local terms = {" + ",".join(json.dumps(t) for t in terms) + "}\n"
    return {
        "ping": 'wrk.path = "/api/ping"\n',
        "recommendations (cache hit)": auth
        + visitor_table
        + THREADS
        + """
function request()
  -- Ten visitors, warmed up before the run: every request is a hit.
  local visitor = visitors[(next_number() % 10) + 1]
  return wrk.format("GET", "/api/recommendations?k=10&visitor=" .. visitor)
end
""",
        MISSES: auth
        + visitor_table
        + THREADS
        + """
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
function request()
  -- A (visitor, diversity cap, buy-again) combination never asked before in a run (they
  -- repeat every 25,000 requests): every request misses. Every other request lets interacted
  -- products in (and reads the visitor's purchases for buy-again), so each run is half and half.
  local n = next_number() + offset
  local visitor = visitors[(n % #visitors) + 1]
  local cap = 1 + math.floor(n / #visitors) % 50
  local again = (math.floor(n / 2) % 2 == 1) and "true" or "false"
  return wrk.format("GET", "/api/recommendations?k=10&visitor=" .. visitor
    .. "&max_per_category=" .. cap .. "&include_interacted=" .. again)
end
""",
        SHOPPING: auth
        + visitor_table
        + THREADS
        + f"local shoppers = {SHOPPERS}\n"
        + """
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
function request()
  -- As the cache-miss scenario, over the visitors who are browsing now.
  local n = next_number() + offset
  local visitor = visitors[(n % shoppers) + 1]
  local cap = 1 + math.floor(n / shoppers) % 50
  return wrk.format("GET", "/api/recommendations?k=10&visitor=" .. visitor
    .. "&max_per_category=" .. cap)
end
""",
        "products?search=": term_table
        + THREADS
        + """
function request()
  return wrk.format("GET", "/api/products?search=" .. terms[(next_number() % #terms) + 1])
end
""",
        "products?search= (uncached)": term_table
        + THREADS
        + """
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
function request()
  -- A price bound never asked before in a run: every page is ranked and counted afresh.
  local n = next_number() + offset
  return wrk.format("GET", "/api/products?search=" .. terms[(n % #terms) + 1]
    .. "&max_price=" .. (1000 + n % 100000) .. ".50")
end
""",
        "trending": 'wrk.path = "/api/trending?window=7d&k=20"\n',
        "products/{id}/similar": product_table
        + THREADS
        + """
function request()
  return wrk.format("GET", "/api/products/" .. products[(next_number() % #products) + 1]
    .. "/similar?k=10")
end
""",
        BATCHES: auth
        + visitor_table
        + product_table
        + THREADS
        + f"local size = {BATCH}\n"
        + """
local run = os.getenv("BENCH_OFFSET") or "0"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  -- A batch of new events (ids never sent before), as an app flushing its queue would send.
  local n = next_number()
  local items = {}
  for i = 1, size do
    local m = n * size + i
    items[i] = string.format(
      '{"event_id": "bench-b%s-%d", "visitor": %q, "product": %d, "event_type": "view"}',
      run, m, visitors[(m % #visitors) + 1], products[(m % #products) + 1])
  end
  return wrk.format(nil, "/api/events", nil, "[" .. table.concat(items, ",") .. "]")
end
""",
        "POST events": auth
        + visitor_table
        + product_table
        + THREADS
        + """
local run = os.getenv("BENCH_OFFSET") or "0"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  local n = next_number()
  local body = string.format(
    '{"event_id": "bench-%s-%d", "visitor": %q, "product": %d, "event_type": "view"}',
    run, n, visitors[(n % #visitors) + 1], products[(n % #products) + 1])
  return wrk.format(nil, "/api/events", nil, body)
end
""",
    }


def client_timeout(scenario: str) -> int:
    """Seconds a client of the scenario waits for an answer before wrk counts an error."""
    return CLIENT_TIMEOUT.get(scenario, 2)


def wrk_run(
    script: str, connections: int, seconds: int, offset: int, timeout: int
) -> dict[str, Any]:
    """One wrk run of the script; a request unanswered after `timeout` seconds is an error."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script + DONE)
    try:
        command = [WRK, "-t2", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}s"]
        command += ["-s", file.name]
        result = subprocess.run(  # noqa: S603
            [*command, f"http://127.0.0.1:{PORT}"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "BENCH_OFFSET": str(offset)},
        )
    finally:
        os.unlink(file.name)
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    figures: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    figures["requests_per_second"] = round(figures["requests"] / figures["seconds"], 1)
    # When wrk stopped: requests still in the server's queue are not the run's.
    figures["ended_at"] = time.time()
    return figures


def shell(url: str, code: str) -> str:
    return manage(url, "shell", "--verbosity", "0", "-c", code).stdout.strip()


def prepare(url: str) -> tuple[str, list[str], list[int]]:
    ensure_database(url)
    manage(url, "migrate", "--no-input", "-v0")
    manage(url, "seed_demo", "--flush", "--seed", "42", "--verbosity", "0")
    for command in (
        "compute_trending",
        "compute_similarity",
        "compute_content_similarity",
        "compute_bought_together",
        "compute_sessions",
        "compute_ranking",
    ):
        manage(url, command, "--verbosity", "0")
    # The demo store has fewer orders than a real store's minimum; the scenario "shopping now"
    # measures what the ranking costs a request, so it is learnt from what there is.
    manage(url, "compute_live_ranking", "--min-orders", "1", "--verbosity", "0")
    token = shell(
        url,
        "from django.contrib.auth.models import Group, User; "
        "from rest_framework.authtoken.models import Token; "
        "user, _ = User.objects.get_or_create(username='bench'); "
        "user.groups.add(Group.objects.get(name='API client')); "
        "print(Token.objects.get_or_create(user=user)[0].key)",
    )
    visitors = json.loads(
        shell(
            url,
            "import json; from tracking.models import Visitor; "
            "print(json.dumps(list(Visitor.objects.order_by('id')"
            ".values_list('external_id', flat=True)[:500])))",
        )
    )
    products = json.loads(
        shell(
            url,
            "import json; from catalog.models import Product; "
            "print(json.dumps(list(Product.objects.browsable().order_by('id')"
            ".values_list('id', flat=True))))",
        )
    )
    return token, visitors, products


def start_server(
    url: str,
    redis_url: str,
    *gunicorn_options: str,
    port: int = PORT,
    checkout: Path = ROOT,
    environment: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """gunicorn of `checkout` on `port` with DEBUG off (2 workers unless the options say
    otherwise), with `environment` added to its settings' variables."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shopsmart.settings.base",
        "DEBUG": "false",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": CACHE_PREFIX,
        "THROTTLE_EVENTS": "100000000/minute",
        "THROTTLE_SEARCH": "100000000/minute",
        "LOG_LEVEL": "WARNING",
        **(environment or {}),
    }
    gunicorn = [sys.executable, "-m", "gunicorn", "shopsmart.wsgi", "--workers", "2"]
    server = subprocess.Popen(  # noqa: S603
        [*gunicorn, "--bind", f"127.0.0.1:{port}", "--log-level", "warning", *gunicorn_options],
        cwd=checkout,
        env=env,
    )
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ping"):
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError(f"gunicorn of {checkout} did not start")


def warm(token: str, visitors: list[str]) -> None:
    for visitor in visitors[:10]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/api/recommendations?k=10&visitor={visitor}",
            headers={"Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(request):  # noqa: S310
            pass
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/trending?window=7d&k=20"):
        pass


def browse(token: str, shoppers: list[str], products: list[int]) -> None:
    """Each shopper views SHOPPING_VIEWS products now (in batches), starting a session."""
    rng = random.Random(len(shoppers))
    views = [
        {"visitor": shopper, "product": product, "event_type": "view"}
        for shopper in shoppers
        for product in rng.sample(products, SHOPPING_VIEWS)
    ]
    for start in range(0, len(views), BATCH):
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/api/events",
            data=json.dumps(views[start : start + BATCH]).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request):  # noqa: S310
            pass


@dataclass(frozen=True)
class Options:
    """What the command line asks for, and where the bench store is."""

    seconds: int
    rounds: int
    url: str
    redis_url: str
    only: list[str]


def bench_setup(description: str) -> Options:
    """The command line's run length, rounds and scenarios, and the bench database and Redis
    (shared with the commands the benchmark runs)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure each scenario this many times (medians)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="TEXT",
        help="run only the scenarios whose name contains one of these (ping always runs)",
    )
    args = parser.parse_args()
    if args.seconds < 1 or args.rounds < 1:
        parser.error("--seconds and --rounds must be at least 1")
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    url = os.environ.get("BENCH_API_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    os.environ |= {"REDIS_URL": redis_url, "CACHE_KEY_PREFIX": CACHE_PREFIX}
    return Options(args.seconds, args.rounds, url, redis_url, args.only)


def chosen(scripts: dict[str, str], only: list[str]) -> dict[str, str]:
    """The scenarios asked for with --only (all without it), with ping's, the floor."""
    return {
        name: script
        for name, script in scripts.items()
        if not only or name == "ping" or any(text in name for text in only)
    }


def measure(
    scripts: dict[str, str],
    concurrency: tuple[int, ...],
    seconds: int,
    before_run: Callable[[str], None] = lambda _name: None,
    after_run: Callable[[str, int, dict[str, Any]], None] = lambda _name, _offset, _f: None,
    rounds: int = 1,
) -> list[dict[str, Any]]:
    """Each script at each concurrency, right after a run of ping at the same concurrency
    (its floor, whose figures it carries), each after a discarded warm-up second (workers
    have imported the views and opened their connections); `rounds` times over, a script's
    rounds one after the other (a scenario that posts events gives its visitors a current
    session for 30 minutes: a round of an earlier scenario after it would measure another
    path). Printed as table rows as they are measured."""
    print(f"{'round':>5}  {'scenario':<32}{'clients':>8}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'p99 ms':>9}{'errors':>8}")  # fmt: skip
    results = []
    offset = int(time.time())
    for name, script in scripts.items():
        if name == "ping":
            continue
        for number in range(1, rounds + 1):
            for connections in concurrency:
                paired = {}
                for run_name, run_script in (("ping", scripts["ping"]), (name, script)):
                    timeout = client_timeout(run_name)
                    wrk_run(run_script, connections, 1, offset + 5_000_000, timeout)
                    before_run(run_name)
                    offset += 10_000_000
                    figures = wrk_run(run_script, connections, seconds, offset, timeout)
                    figures |= {"scenario": run_name, "clients": connections, "round": number}
                    after_run(run_name, offset, figures)
                    idle_wait()
                    paired[run_name] = figures
                    print(f"{number:>5}  {run_name:<32}{connections:>8}"
                          f"{figures['requests_per_second']:>10}{figures['p50_ms']:>9.2f}"
                          f"{figures['p95_ms']:>9.2f}{figures['p99_ms']:>9.2f}"
                          f"{figures['errors']:>8}")  # fmt: skip
                floor = paired["ping"]
                paired[name] |= {
                    "ping_requests_per_second": floor["requests_per_second"],
                    "ping_p95_ms": floor["p95_ms"],
                }
                results += [floor, paired[name]]
    return results


def idle_wait(most_seconds: float = 60.0) -> None:
    """Until the server answers ping at once twice in a row: the requests a run left queued
    when wrk stopped (32 clients' batches take seconds) are done, and do not slow the next."""
    quick = 0
    deadline = time.monotonic() + most_seconds
    while quick < 2 and time.monotonic() < deadline:
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/ping"):
            pass
        quick = quick + 1 if time.monotonic() - started < 0.05 else 0


def shares_print(results: list[dict[str, Any]]) -> None:
    """Each scenario's throughput as a share of ping's and its p95 as a multiple of ping's,
    each against the ping run just before it; with several rounds, the medians over them and
    each round's share."""
    rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in results:
        if "ping_requests_per_second" in r:
            rows.setdefault((r["scenario"], r["clients"]), []).append(r)
    rounds = max((len(runs) for runs in rows.values()), default=1)
    print("\nThroughput as a share of ping's, and p95 as a multiple of ping's"
          + (f" (medians of {rounds} rounds):" if rounds > 1 else ":"))  # fmt: skip
    for (scenario, clients), runs in rows.items():
        shares = [r["requests_per_second"] / r["ping_requests_per_second"] for r in runs]
        slower = statistics.median(r["p95_ms"] / r["ping_p95_ms"] for r in runs)
        each = f" (rounds: {', '.join(f'{s:.0%}' for s in shares)})" if len(runs) > 1 else ""
        print(f"  {scenario:<30} {clients:>3} clients: {statistics.median(shares):.0%},"
              f" p95 {slower:.1f}x{each}")  # fmt: skip


def stored_print(results: list[dict[str, Any]]) -> None:
    """The events stored a second by each run that counted them, and their median."""
    rates: dict[tuple[str, int], list[int]] = {}
    for r in results:
        if "events_stored" in r:
            rates.setdefault((r["scenario"], r["clients"]), []).append(
                r["events_stored_per_second"]
            )
            print(f"  {r['scenario']:<30} {r['clients']:>3} clients, round {r['round']}: "
                  f"{r['events_stored_per_second']:,} events stored per second "
                  f"({r['events_stored']:,} in {r['seconds']:.1f} s)")  # fmt: skip
    for (scenario, clients), per_round in rates.items():
        print(f"  {scenario:<30} {clients:>3} clients: {statistics.median(per_round):,.0f} "
              f"events stored per second, median of {len(per_round)}")  # fmt: skip


def main() -> None:
    options = bench_setup(__doc__.splitlines()[0])
    url = options.url
    token, visitors, products = prepare(url)
    server = start_server(url, options.redis_url)

    def before_run(name: str) -> None:
        if name == SHOPPING:
            browse(token, visitors[:SHOPPERS], products)
        if name in (MISSES, SHOPPING):
            # No list computed before (by the warm-up or an earlier run) is served: every
            # measured request computes one (the shared caches stay warm).
            shell(url, f"from infrastructure import cache; cache.generation_bump({RECS!r})")

    def after_run(name: str, offset: int, figures: dict[str, Any]) -> None:
        if name == BATCHES:
            # Stored, not only answered: the events of this run in the database, stamped
            # (when their batch was taken) before wrk stopped; the batches still queued then
            # are stored after it, and do not count.
            count = "import datetime as d; from tracking.models import Event; print("
            count += f"Event.objects.filter(event_id__startswith='bench-b{offset}-', "
            count += f"occurred_at__lte=d.datetime.fromtimestamp({figures['ended_at']}, d.UTC))"
            count += ".count())"
            stored = int(shell(url, count))
            figures["events_stored"] = stored
            figures["events_stored_per_second"] = round(stored / figures["seconds"])

    try:
        warm(token, visitors)
        print(f"API on gunicorn (2 workers), PostgreSQL + Redis, wrk {options.seconds} s per run")
        scripts = chosen(scenario_scripts(token, visitors, products), options.only)
        results = measure(
            scripts, CONCURRENCY, options.seconds, before_run, after_run, options.rounds
        )
    finally:
        server.terminate()
        server.wait()
    shares_print(results)
    stored_print(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api-load.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
