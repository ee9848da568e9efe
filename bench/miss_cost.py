"""A cache miss's CPU against ping's, in one process: the API's floor ratio, without wrk.

Under wrk on this shared host one run's shares move by a third; the CPU a request costs its
process moves far less, and under load the workers' CPU is what limits throughput (both
cores stay busy). This calls Django's WSGI handler directly, alternating a plain cache miss
(the requests of `bench/api.py`'s miss scenario: a new (visitor, diversity cap, buy-again)
combination each time) and ping, and prints each round's mean CPU per request and their
ratio, then the median ratio. A ratio of about 4 matches a share of ping's throughput of
about 22% under `bench/api.py`; 25% needs about 3.6.

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
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework.authtoken.models import Token

    from infrastructure import cache
    from tracking.models import Visitor

    # No list computed by an earlier run is served (as in the miss scenario of bench/api.py);
    # the shared caches (neighbours, fills, cards) are filled by the warm-up below.
    cache.generation_bump(cache.RECOMMENDATIONS)
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

    def ping() -> None:
        call("/api/ping", "")

    def cpu(request: Callable[[], Any]) -> float:
        started = time.process_time()
        request()
        return time.process_time() - started

    # The worker's kept neighbours and cards, and its connections, as a running server has.
    for _ in range(len(visitors) * 2):
        miss()
        ping()
    ratios = []
    print("one process, CPU per request (ms): cache miss, ping, ratio")
    for round_number in range(1, args.rounds + 1):
        misses, pings = [], []
        for _ in range(args.requests):
            misses.append(cpu(miss))
            pings.append(cpu(ping))
        ratio = statistics.mean(misses) / statistics.mean(pings)
        ratios.append(ratio)
        print(f"round {round_number}: miss {statistics.mean(misses) * 1e3:.3f}, "
              f"ping {statistics.mean(pings) * 1e3:.3f}, ratio {ratio:.2f}")  # fmt: skip
    print(f"median ratio of {args.rounds} rounds: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
