"""A cache miss's and a cache hit's CPU against ping's, in one process: the API's floor
ratios, without wrk.

Under wrk on this shared host one run's shares move by a third; the CPU a request costs its
process moves far less, and under load the workers' CPU is what limits throughput (both
cores stay busy). This calls Django's WSGI handler directly, alternating a plain cache miss
(the requests of `bench/api.py`'s miss scenario: a new (visitor, diversity cap, buy-again)
combination each time), a cache hit (its hit scenario's: ten visitors' default lists, kept)
and ping, and prints each round's mean CPU per request and the miss's and the hit's ratios
to ping's, then the median ratios. A miss ratio of about 4 matches a share of ping's
throughput of about 22% under `bench/api.py`; 25% needs about 3.6. A hit ratio of about 1.9
matches about 50%. Within 30 minutes of a `bench/api.py` run that posted events every bench
visitor still has a current session, and the misses take the shopping-now path (a ratio of
about 9): run it before, or wait. The ratios move with the host's state too (the miss's
from 4.0 to 4.5 within two hours on one day): compare two versions alternating in one run.

    python bench/api.py --only miss ping      # builds the bench store (once)
    python bench/miss_cost.py [--requests 1500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api
from run import ROOT

CACHE_PREFIX = "bench-miss-cost"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="of each kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ |= {
        "DJANGO_SETTINGS_MODULE": "shopsmart.settings.base",
        "DEBUG": "false",
        "DATABASE_URL": os.environ.get("BENCH_API_DATABASE_URL", api.DEFAULT_URL),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", api.DEFAULT_REDIS),
        "CACHE_KEY_PREFIX": CACHE_PREFIX,
        "LOG_LEVEL": "WARNING",
    }
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework.authtoken.models import Token

    from tracking.models import Visitor

    # Nothing an earlier run cached is served (the store may have been reseeded since, which
    # only bench/api.py's prefix heard of): no list, as in the miss scenario of bench/api.py;
    # the shared caches (neighbours, fills, cards, kept histories) are filled by the warm-up.
    cache.delete_pattern("*")  # type: ignore[attr-defined]
    token = Token.objects.get(user__username="bench").key
    visitors = list(Visitor.objects.order_by("id").values_list("external_id", flat=True)[:500])
    handler = WSGIHandler()

    def call(path: str, query: str) -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Token {token}",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        statuses: list[str] = []

        def start_response(status: str, _headers: Any, _info: Any = None) -> Any:
            statuses.append(status)
            return lambda _data: None

        body = b"".join(handler(environ, start_response))
        if not statuses[0].startswith("200"):
            sys.exit(f"{path}?{query} answered {statuses[0]}: {body[:200]!r}")

    count = 0

    def miss() -> None:
        # As the miss scenario of bench/api.py: every combination is new within a run.
        nonlocal count
        count += 1
        visitor = visitors[count % len(visitors)]
        cap = 1 + (count // len(visitors)) % 50
        again = "true" if (count // 2) % 2 else "false"
        query = f"k=10&visitor={visitor}&max_per_category={cap}&include_interacted={again}"
        call("/api/recommendations", query)

    def hit() -> None:
        # As the hit scenario of bench/api.py: ten visitors' default lists, computed once.
        call("/api/recommendations", f"k=10&visitor={visitors[count % 10]}")

    def ping() -> None:
        call("/api/ping", "")

    def cpu(request: Callable[[], Any]) -> float:
        started = time.process_time()
        request()
        return time.process_time() - started

    # The worker's kept neighbours and cards, and its connections, as a running server has.
    for _ in range(len(visitors) * 2):
        miss()
        hit()
        ping()
    ratios: dict[str, list[float]] = {"miss": [], "hit": []}
    print("one process, CPU per request (ms): cache miss, cache hit, ping; ratios to ping's")
    for round_number in range(1, args.rounds + 1):
        spent: dict[str, list[float]] = {"miss": [], "hit": [], "ping": []}
        for _ in range(args.requests):
            spent["miss"].append(cpu(miss))
            spent["hit"].append(cpu(hit))
            spent["ping"].append(cpu(ping))
        mean = {name: statistics.mean(values) for name, values in spent.items()}
        for name in ratios:
            ratios[name].append(mean[name] / mean["ping"])
        print(f"round {round_number}: miss {mean['miss'] * 1e3:.3f}, hit {mean['hit'] * 1e3:.3f}, "
              f"ping {mean['ping'] * 1e3:.3f}; miss {ratios['miss'][-1]:.2f}, "
              f"hit {ratios['hit'][-1]:.2f}")  # fmt: skip
    print(f"median ratios of {args.rounds} rounds: miss {statistics.median(ratios['miss']):.2f}, "
          f"hit {statistics.median(ratios['hit']):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
