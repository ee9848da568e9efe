"""Benchmarks: the demo loader and the recommendation pipelines, at the default and large size.

Runs against BENCH_DATABASE_URL (default: a PostgreSQL database `shopsmart_bench` on
127.0.0.1, created if missing), never against the store's own DATABASE_URL, because it flushes.
Prints a table and writes bench/results/<name>.json.

    python bench/run.py            # default store: 1,000 products, 500 visitors, 50,000 events
    python bench/run.py --large    # plus 100,000 products, 50,000 visitors, 5,000,000 events
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/shopsmart_bench"
SIZES = {
    "default": [],
    "large": ["--products", "100000", "--visitors", "50000", "--events", "5000000"],
}


def ensure_database(url: str) -> None:
    parsed = urlparse(url)
    if not parsed.scheme.startswith("postgres"):
        return
    import psycopg

    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def manage(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "shopsmart.settings.base"}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def bench_seed_demo(url: str, size: str) -> dict[str, object]:
    started = time.perf_counter()
    result = manage(url, "seed_demo", "--flush", "--seed", "42", "--verbosity", "0", *SIZES[size])
    wall = time.perf_counter() - started
    match = re.search(r"in ([\d.]+) s \(generated in ([\d.]+) s\)", result.stdout)
    if match is None:
        raise RuntimeError(f"seed_demo printed no timing: {result.stdout!r}")
    return {
        "benchmark": f"seed_demo {size}",
        "arguments": SIZES[size],
        "command_seconds": round(wall, 2),
        "seconds": float(match.group(1)),
        "generate_seconds": float(match.group(2)),
        "summary": result.stdout.strip(),
    }


def bench_pipeline(url: str, size: str, command: str) -> dict[str, object]:
    """One pipeline end to end (read events, compute, write results) on the seeded store."""
    result = manage(url, command, "--verbosity", "0")
    match = re.search(r"in ([\d.]+) s \((.*)\)\.", result.stdout)
    if match is None:
        raise RuntimeError(f"{command} printed no timing: {result.stdout!r}")
    return {
        "benchmark": f"{command} {size}",
        "arguments": SIZES[size],
        "seconds": float(match.group(1)),
        "phases": match.group(2),
        "summary": result.stdout.strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also run the 5M-event size")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    manage(url, "migrate", "--no-input", "-v0")
    sizes = ["default", "large"] if args.large else ["default"]
    machine = f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})"
    backend = urlparse(url).scheme
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"Benchmarks on {machine}, database: {backend}")
    print(f"{'benchmark':<30}{'total s':>10}  detail")
    for size in sizes:
        runs = [
            bench_seed_demo(url, size),
            bench_pipeline(url, size, "compute_trending"),
            bench_pipeline(url, size, "compute_similarity"),
        ]
        for figures in runs:
            figures |= {"machine": machine, "database": backend}
            detail = figures.get("phases") or f"generate {figures['generate_seconds']} s"
            print(f"{figures['benchmark']:<30}{figures['seconds']:>10}  {detail}")
            name = f"{figures['benchmark']}-{backend}".replace(" ", "-")
            (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
