"""Two versions of the API side by side: this checkout against a baseline commit.

On this shared host one bench run's ratios move by a third from run to run, so a change is
judged here the way the guide asks: both versions serve at once (gunicorn, 2 workers each, on
the bench store of `bench/api.py`, one database and Redis with their own cache prefixes), and
wrk alternates between them, ping then the scenario, for several short rounds. Each round
gives each version its p95 as a multiple of ping's and its throughput as a share of ping's, at
4 clients unless --clients says otherwise; the medians over the rounds are printed, with the rounds.

    python bench/api.py --only miss ping            # builds the bench store (once)
    python bench/api_ab.py --baseline c835b7f [--scenario "recommendations (cache miss)"]
        [--rounds 6] [--seconds 5] [--clients 4]

The baseline is checked out with `git worktree` into a temporary directory and runs on this
checkout's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api
from run import ROOT

PORTS = {"baseline": 8771, "this checkout": 8772}
WARM_UP_SECONDS = 15


def cache_emptied(url: str, prefix: str) -> None:
    """Nothing an earlier run cached under the prefix is read: the store may have been
    reseeded since, which only the bench's own prefix heard of (kept histories, for one, are
    exact only as long as every change to the events is announced under their prefix)."""
    shared = os.environ["CACHE_KEY_PREFIX"]
    os.environ["CACHE_KEY_PREFIX"] = prefix
    try:
        api.shell(url, "from django.core.cache import cache; cache.delete_pattern('*')")
    finally:
        os.environ["CACHE_KEY_PREFIX"] = shared


def lists_forgotten(url: str, prefix: str) -> None:
    """No list computed before (by the warm-up or an earlier round) is served from now on:
    every request of the next run computes one (the shared caches stay warm)."""
    shared = os.environ["CACHE_KEY_PREFIX"]
    os.environ["CACHE_KEY_PREFIX"] = prefix
    try:
        api.shell(url, f"from infrastructure import cache; cache.generation_bump({api.RECS!r})")
    finally:
        os.environ["CACHE_KEY_PREFIX"] = shared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the commit to compare against")
    parser.add_argument("--scenario", default=api.MISSES, help="a scenario of bench/api.py")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--clients", type=int, default=4, help="wrk's concurrent connections")
    args = parser.parse_args()
    url = os.environ.get("BENCH_API_DATABASE_URL", api.DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", api.DEFAULT_REDIS)
    os.environ |= {"REDIS_URL": redis_url, "CACHE_KEY_PREFIX": api.CACHE_PREFIX}
    token = api.shell(
        url,
        "from rest_framework.authtoken.models import Token; "
        "print(Token.objects.get(user__username='bench').key)",
    )
    visitors = json.loads(
        api.shell(
            url,
            "import json; from tracking.models import Visitor; print(json.dumps(list("
            "Visitor.objects.order_by('id').values_list('external_id', flat=True)[:500])))",
        )
    )
    products = json.loads(
        api.shell(
            url,
            "import json; from catalog.models import Product; print(json.dumps(list("
            "Product.objects.browsable().order_by('id').values_list('id', flat=True))))",
        )
    )
    scripts = api.scenario_scripts(token, visitors, products)
    workdir = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    baseline = workdir / "baseline"
    subprocess.run(  # noqa: S603
        ["git", "worktree", "add", "--detach", str(baseline), args.baseline],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    checkouts = {"baseline": baseline, "this checkout": ROOT}
    prefixes = {name: f"bench-ab-{i}" for i, name in enumerate(checkouts)}
    for prefix in prefixes.values():
        cache_emptied(url, prefix)
    servers = {
        name: api.start_server(
            url,
            redis_url,
            port=PORTS[name],
            checkout=path,
            environment={"CACHE_KEY_PREFIX": prefixes[name]},
        )
        for name, path in checkouts.items()
    }
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in checkouts}
    try:
        offset = int(time.time())
        for number in range(args.rounds):
            for name in checkouts:
                api.PORT = PORTS[name]
                figures: dict[str, dict[str, Any]] = {}
                for scenario in ("ping", args.scenario):
                    offset += 1_000_000
                    if number == 0:
                        # Discarded, and long enough for every visitor's neighbour lists to
                        # be computed and kept: after bench/api.py reseeds, both start cold.
                        api.wrk_run(
                            scripts[scenario],
                            4,
                            WARM_UP_SECONDS,
                            offset + 500_000,
                            api.client_timeout(scenario),
                        )
                    if scenario != "ping":
                        lists_forgotten(url, prefixes[name])
                    figures[scenario] = api.wrk_run(
                        scripts[scenario],
                        args.clients,
                        args.seconds,
                        offset,
                        api.client_timeout(scenario),
                    )
                ping, measured = figures["ping"], figures[args.scenario]
                rounds[name].append(
                    (
                        measured["p95_ms"] / ping["p95_ms"],
                        measured["requests_per_second"] / ping["requests_per_second"],
                    )
                )
            print(
                f"round {number + 1}: "
                + "; ".join(
                    f"{name} p95 {r[-1][0]:.2f}x ping's, share {r[-1][1]:.1%}"
                    for name, r in rounds.items()
                ),
                flush=True,
            )
    finally:
        for server in servers.values():
            server.terminate()
        subprocess.run(  # noqa: S603
            ["git", "worktree", "remove", "--force", str(baseline)],  # noqa: S607
            cwd=ROOT,
            check=False,
            capture_output=True,
        )
    print(f"\n{args.scenario} at {args.clients} clients, medians of {args.rounds} rounds:")
    for name, figures_of in rounds.items():
        p95 = statistics.median(r[0] for r in figures_of)
        share = statistics.median(r[1] for r in figures_of)
        label = f"{name} ({args.baseline})" if name == "baseline" else name
        print(f"  {label:<28} p95 {p95:.2f}x ping's, throughput {share:.1%} of ping's")


if __name__ == "__main__":
    main()
