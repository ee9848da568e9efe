"""Past one machine (issue 24, item 4): the similarity and ranking chords on a Celery worker
with one process against two, on this host, alternating; prints each run and the ratios.

Each run starts a real worker (`celery -A shopsmart worker --concurrency=N`) on the broker,
sends the job's chord of `--blocks` tasks (`compute_similarity_distributed`,
`compute_ranking_distributed`), and times the run from its creation to its end, as its
PipelineRun records them; then it stops the worker. The order of the two process counts
alternates from round to round, since this shared host's speed moves within minutes. The
single-machine commands' times for the same store are `bench/run.py`'s.

Runs on BENCH_DATABASE_URL's store (default: bench/run.py's) as `bench/run.py` leaves it, with
the broker of CELERY_BROKER_URL (default: RabbitMQ on 127.0.0.1) and the chords' results on
BENCH_CHORDS_REDIS_URL (default: Redis database 3 on 127.0.0.1).

    python bench/run.py --sizes large         # the 100x store, and the single jobs' times
    python bench/chords.py [--jobs similarity ranking] [--rounds 2] [--blocks 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import DEFAULT_URL, ROOT

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_REDIS = "redis://127.0.0.1:6379/3"
PROCESSES = (1, 2)
# How long a worker may take to answer a ping, and a run to end.
READY_SECONDS = 60
RUN_SECONDS = 30 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", nargs="+", choices=["similarity", "ranking"],
                        default=["similarity", "ranking"])  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--blocks", type=int, default=4)
    args = parser.parse_args()
    os.environ |= {
        "DJANGO_SETTINGS_MODULE": "shopsmart.settings.base",
        "DEBUG": "false",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", DEFAULT_BROKER),
        "REDIS_URL": os.environ.get("BENCH_CHORDS_REDIS_URL", DEFAULT_REDIS),
        "CACHE_KEY_PREFIX": "bench-chords",
        "LOG_LEVEL": "WARNING",
    }
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from recommender.models import ACTIVE_PIPELINE_STATUSES, PipelineRun

    if PipelineRun.objects.filter(status__in=ACTIVE_PIPELINE_STATUSES).exists():
        sys.exit("A pipeline run is active on this store: wait for it, or mark it failed.")
    print(f"{'job':<12}{'round':>6}{'processes':>10}{'seconds':>10}  status")
    walls: dict[tuple[str, int], list[float]] = {}
    for round_number in range(1, args.rounds + 1):
        order = PROCESSES if round_number % 2 else PROCESSES[::-1]
        for job in args.jobs:
            for processes in order:
                seconds, status = timed_run(job, processes, args.blocks)
                print(f"{job:<12}{round_number:>6}{processes:>10}{seconds:>10.1f}  {status}",
                      flush=True)  # fmt: skip
                if status != "succeeded":
                    sys.exit(f"The {job} chord did not succeed: see the worker's log above.")
                walls.setdefault((job, processes), []).append(seconds)
    print(f"\nMedians of {args.rounds} rounds, {args.blocks} blocks:")
    for job in args.jobs:
        one, two = (statistics.median(walls[job, n]) for n in PROCESSES)
        print(f"  {job:<12} 1 process {one:.1f} s, 2 processes {two:.1f} s: "
              f"2 processes are {one / two:.2f}x one")  # fmt: skip


def timed_run(job: str, processes: int, blocks: int) -> tuple[float, str]:
    """One chord of `job` on a worker of `processes` processes: the run's seconds from its
    creation to its end, and its final status."""
    from recommender import tasks
    from recommender.models import ACTIVE_PIPELINE_STATUSES, PipelineRun
    from shopsmart.celery import app

    app.control.purge()
    worker = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "celery", "-A", "shopsmart", "worker", f"--concurrency={processes}",
         "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
         f"--hostname=bench-chords-{processes}@%h"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,  # its banner; warnings and errors go to stderr
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not app.control.ping(timeout=1.0):
            if worker.poll() is not None or time.monotonic() > deadline:
                sys.exit("The Celery worker did not start.")
        start = {"similarity": tasks.compute_similarity_distributed,
                 "ranking": tasks.compute_ranking_distributed}[job]  # fmt: skip
        run_id = start.delay(blocks=blocks).get(timeout=RUN_SECONDS)
        if run_id is None:
            sys.exit(f"The {job} chord was refused: another run of it is active.")
        deadline = time.monotonic() + RUN_SECONDS
        while True:
            run = PipelineRun.objects.get(pk=run_id)
            if run.status not in ACTIVE_PIPELINE_STATUSES:
                break
            if time.monotonic() > deadline:
                sys.exit(f"The {job} chord (run {run_id}) did not end in {RUN_SECONDS} s.")
            time.sleep(0.5)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=120)
    ended = run.finished_at or run.created_at
    return (ended - run.created_at).total_seconds(), str(run.status)


if __name__ == "__main__":
    main()
