"""Benchmarks: the demo loader and every recommendation pipeline, at the default and large size.

Runs against BENCH_DATABASE_URL (default: a PostgreSQL database `shopsmart_bench` on
127.0.0.1, created if missing), never against the store's own DATABASE_URL, because it flushes.
Prints a table and writes bench/results/<name>.json.

    python bench/run.py            # default store: 1,000 products, 500 visitors, 50,000 events
    python bench/run.py --large    # plus 10x and 100x (100,000 products, 5,000,000 events)
    python bench/run.py --sizes default 10x
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/shopsmart_bench"
SIZES = {
    "default": [],
    # Where the dense method (bench/seed_method.py) still fits in memory (about 2 GiB), to show
    # how it scales.
    "10x": ["--products", "10000", "--visitors", "5000", "--events", "500000"],
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


@dataclass
class Finished:
    stdout: str
    peak_rss_mib: float


def run_script(url: str, *args: str) -> Finished:
    """Run a Python script of the project on the bench database; its output and peak memory."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "shopsmart.settings.base"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=err, text=True
        )
        # wait4 reports this child's own peak resident memory (KiB on Linux).
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{err.read()}")
        return Finished(stdout=out.read(), peak_rss_mib=round(usage.ru_maxrss / 1024, 1))


def manage(url: str, *args: str) -> Finished:
    return run_script(url, "manage.py", *args)


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


def bench_pipeline(url: str, size: str, command: str, label: str = "") -> dict[str, object]:
    """One pipeline end to end (read events, compute, write results) on the seeded store."""
    result = manage(url, command, "--verbosity", "0")
    match = re.search(r"in ([\d.]+) s \((.*)\)\.", result.stdout)
    if match is None:
        raise RuntimeError(f"{command} printed no timing: {result.stdout!r}")
    return {
        "benchmark": f"{command}{label} {size}",
        "arguments": SIZES[size],
        "seconds": float(match.group(1)),
        "phases": match.group(2),
        "peak_rss_mib": result.peak_rss_mib,
        "summary": result.stdout.strip(),
    }


QUALITY_SCRIPT = (
    "import json; from recommender.models import EvaluationRun; "
    "from recommender.selectors import evaluation_figures; "
    "print(json.dumps(evaluation_figures(EvaluationRun.objects.latest('created_at'))))"
)


def quality(url: str, size: str) -> dict[str, object]:
    """The figures of the evaluation the benchmark just ran."""
    figures = json.loads(manage(url, "shell", "--verbosity", "0", "-c", QUALITY_SCRIPT).stdout)
    return {"benchmark": f"quality {size}", **figures}


def seed_method(url: str, size: str) -> dict[str, object]:
    """The dense similarity (bench/seed_method.py) next to ours on the same events (compute
    only)."""
    result = run_script(url, "bench/seed_method.py")
    figures = json.loads(result.stdout)
    return {
        "benchmark": f"seed similarity method {size}",
        "seconds": figures["seed_compute_seconds"],
        "peak_rss_mib": result.peak_rss_mib,
        **figures,
    }


def print_quality(figures: dict[str, Any]) -> None:
    print(f"\nEvaluation ({figures['parameters']['split_at']} split, "
          f"{figures['visitors_evaluated']} visitors)")  # fmt: skip
    columns = ["hit_rate@5", "hit_rate@10", "hit_rate@20", "recall@20", "precision@20",
               "ndcg@20", "map@20", "coverage"]  # fmt: skip
    print(f"{'recommender / protocol':<34}" + "".join(f"{c:>13}" for c in columns))
    for algorithm, protocols in figures["results"].items():
        for protocol, values in protocols.items():
            row = "".join(f"{values[c]:>13.4f}" for c in columns)
            print(f"{algorithm + ' / ' + protocol:<34}{row}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also run the 5M-event size")
    parser.add_argument(
        "--sizes", nargs="+", choices=list(SIZES), help="only these sizes (else as --large says)"
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    manage(url, "migrate", "--no-input", "-v0")
    sizes = args.sizes or (["default", "10x", "large"] if args.large else ["default"])
    machine = f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})"
    backend = urlparse(url).scheme
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"Benchmarks on {machine}, database: {backend}")
    print(f"{'benchmark':<40}{'total s':>10}  detail")
    for size in sizes:
        runs = [
            bench_seed_demo(url, size),
            bench_pipeline(url, size, "compute_trending"),
            bench_pipeline(url, size, "compute_similarity"),
            # The steady state: every later run replaces the rows the previous one wrote.
            bench_pipeline(url, size, "compute_similarity", label=" again"),
            bench_pipeline(url, size, "compute_content_similarity"),
            bench_pipeline(url, size, "compute_bought_together"),
            bench_pipeline(url, size, "compute_sessions"),
            bench_pipeline(url, size, "compute_ranking"),
            bench_pipeline(url, size, "compute_live_ranking"),
            bench_pipeline(url, size, "evaluate"),
        ]
        if size != "large":
            # The dense method cannot run at 100x (see seed_memory_gib_at_100x).
            runs.append(seed_method(url, size))
        for figures in runs:
            record(figures, machine, backend)
            detail = str(figures.get("phases") or f"generate {figures.get('generate_seconds')} s")
            if "speed_ratio" in figures:
                detail = (
                    f"ours {figures['ours_compute_seconds']} s: {figures['speed_ratio']}x faster; "
                    f"{figures['products_with_identical_neighbour_sets']} of "
                    f"{figures['products_with_neighbours']} neighbour lists identical; "
                    f"dense memory {figures['seed_memory_gib_here']} GiB here, "
                    f"{figures['seed_memory_gib_at_100x']} GiB at 100x"
                )
            memory = f", peak {figures['peak_rss_mib']} MiB" if "peak_rss_mib" in figures else ""
            print(f"{figures['benchmark']:<40}{figures['seconds']:>10}  {detail}{memory}")
        evaluation = quality(url, size)
        record(evaluation, machine, backend)
        print_quality(evaluation)


def record(figures: dict[str, Any], machine: str, backend: str) -> None:
    figures |= {"machine": machine, "database": backend}
    name = f"{figures['benchmark']}-{backend}".replace(" ", "-")
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
