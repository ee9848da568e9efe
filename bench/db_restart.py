"""PostgreSQL restarted under traffic: fast 503s while it is down, recovery without restarting
the app, and no order or event batch half-written.

The default demo store (BENCH_FAULT_DATABASE_URL, default `shopsmart_bench_fault`, seeded once),
gunicorn as the Dockerfile runs it with DB_STATEMENT_TIMEOUT_MS=10000, and bench/load.py's
shoppers. Some seconds in, PostgreSQL is stopped (`pg_ctlcluster ... stop -m fast`: every
session is ended, open transactions roll back) and started again `--down` seconds later; the
shoppers go on throughout and the app is never restarted.

Prints each second's answers (ok, 503, other 5xx, no answer), how fast the 503s came, how long
after PostgreSQL was back the first and the last failure were, and the accounting of
bench/load.py; writes bench/results/db-restart.json. Exits non-zero on any 5xx other than 503,
an unanswered request, or an order or event lost or half-written.

It stops the machine's PostgreSQL, so every other user of that server loses its connections:
run it as root (or postgres) on a machine of your own, not beside a running test suite.

    python bench/db_restart.py [--clients 16] [--seconds 45] [--down-at 10] [--down 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import DEFAULT_REDIS, shell
from load import (
    MARKS,
    accounts_report,
    gunicorn_as_deployed,
    inconsistencies,
    percentile,
    requests_report,
    shoppers_run,
    store_prepare,
)
from run import RESULTS

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/shopsmart_bench_fault"
ANSWERS = ("ok", "503", "5xx", "none")


def answer_of(status: int) -> str:
    """ok (any answer below 500), 503, another 5xx, or none (no answer: 0)."""
    if status == 0:
        return "none"
    return "ok" if status < 500 else "503" if status == 503 else "5xx"


def cluster_command(action: str) -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        sys.exit("No PostgreSQL cluster in /etc/postgresql: this needs the machine's own server.")
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action]
    return [*command, "-m", "fast"] if action == "stop" else command


def postgres_ready() -> bool:
    ready = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False)  # noqa: S607
    return ready.returncode == 0


def restart(down_at: float, down: float, moments: dict[str, float]) -> None:
    """Stop PostgreSQL `down_at` seconds from now, start it `down` seconds later."""
    time.sleep(down_at)
    moments["stopped"] = time.monotonic()
    subprocess.run(cluster_command("stop"), check=True)  # noqa: S603
    time.sleep(down)
    moments["starting"] = time.monotonic()
    subprocess.run(cluster_command("start"), check=True)  # noqa: S603
    while not postgres_ready():
        time.sleep(0.05)
    moments["back"] = time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=45)
    parser.add_argument("--down-at", type=float, default=10)
    parser.add_argument("--down", type=float, default=10)
    args = parser.parse_args()
    url = os.environ.get("BENCH_FAULT_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    store = store_prepare(url, [], reseed=False)
    marks = shell(url, MARKS)
    server = gunicorn_as_deployed(url, redis_url, DB_STATEMENT_TIMEOUT_MS="10000")
    run = f"fault-{uuid.uuid4().hex[:8]}"
    moments: dict[str, float] = {}
    fault = threading.Thread(target=restart, args=(args.down_at, args.down, moments))
    try:
        start = time.monotonic()
        fault.start()
        tallies, elapsed = shoppers_run(store, clients=args.clients, seconds=args.seconds, run=run)
        fault.join()
    finally:
        if not postgres_ready():
            subprocess.run(cluster_command("start"), check=False)  # noqa: S603
        server.terminate()
        server.wait()

    timeline = sorted(entry for tally in tallies for entry in tally.timeline)
    stopped, starting = moments["stopped"] - start, moments["starting"] - start
    back = moments["back"] - start
    print(f"{args.clients} clients, {elapsed:.0f} s; PostgreSQL stopped at {stopped:.1f} s, "
          f"started again at {starting:.1f} s, ready by {back:.1f} s")  # fmt: skip
    print(f"{'second':>6}" + "".join(f"{answer:>6}" for answer in ANSWERS))
    per_second: dict[int, Counter[str]] = {}
    for began, _, status, _ in timeline:
        per_second.setdefault(int(began - start), Counter())[answer_of(status)] += 1
    for second, answers in sorted(per_second.items()):
        print(f"{second:>6}" + "".join(f"{answers[answer]:>6}" for answer in ANSWERS))

    unavailable = [seconds for _, _, status, seconds in timeline if status == 503]
    failed_at = [began - start for began, _, status, _ in timeline if answer_of(status) != "ok"]
    ok_after = [began - start for began, _, status, _ in timeline
                if began - start >= starting and answer_of(status) == "ok"]  # fmt: skip
    answers = Counter(answer_of(status) for _, _, status, _ in timeline)
    figures: dict[str, Any] = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "stopped_at_s": round(stopped, 1),
        "started_at_s": round(starting, 1),
        "ready_at_s": round(back, 1),
        "answers": dict(answers),
        # When the app answered again: its first success after the start command, its last
        # failure, both in seconds after the start command began.
        "first_ok_after_start_s": round(min(ok_after) - starting, 2) if ok_after else None,
        "last_failure_after_start_s": round(max(failed_at) - starting, 2) if failed_at else None,
    }
    if unavailable:
        figures |= {
            "unavailable_p50_ms": round(statistics.median(unavailable) * 1000, 1),
            "unavailable_p99_ms": round(percentile(unavailable, 0.99), 1),
            "unavailable_max_ms": round(max(unavailable) * 1000, 1),
        }
    for name, value in figures.items():
        print(f"  {name.replace('_', ' ')}: {value}")
    rows = requests_report(tallies, elapsed)
    accounts = accounts_report(url, marks, run, tallies)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "db-restart.json").write_text(
        json.dumps(figures | {"requests": rows, "accounts": accounts}, indent=2)
    )
    bad_answers = answers["5xx"] + answers["none"]
    lost = inconsistencies(accounts)
    if bad_answers or lost or not ok_after:
        sys.exit(f"FAILED: {bad_answers} answers other than 503 or none, {lost} inconsistencies, "
                 f"{'recovered' if ok_after else 'never recovered'}")  # fmt: skip


if __name__ == "__main__":
    main()
