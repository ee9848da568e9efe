"""WSGI entry point (gunicorn shopsmart.wsgi)."""

from __future__ import annotations

import gc
import os

# A web process answers each request on one thread, beside the other workers on the same
# cores: OpenMP and BLAS thread pools inside a request (the live ranking's classifier, NumPy)
# only fight them for the cores, and OpenMP's waiting threads spin. Measured with bench/api.py:
# a shopper's cache miss at 4 clients went from 14 to 145 requests a second
# (docs/benchmarks.md). Set before the libraries load, which read them once; pipelines run in
# Celery workers and keep every core. An operator's own setting wins.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import resolve  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")

application = get_wsgi_application()

from recommender.serving.warm import process_warmed  # noqa: E402  (needs the apps loaded)

# Django imports the URLconf, and with it every view's module (statsmodels among them), on a
# process's first request: 0.6 s that the first shopper on each new worker would wait.
resolve("/")

# A new worker's first few hundred lists each fetched the neighbour lists and cards they
# needed one request at a time, with a shopper waiting on every round trip
# (recommender/serving/warm.py): the most popular products' are fetched now, all at once.
process_warmed()

# Everything loaded so far (Django, the libraries, the URLconf: about 255,000 objects) lives as
# long as the process; frozen, the collector stops walking it. A full collection then looks at
# 10,000-20,000 objects instead of 260,000: under bench/api.py's batches of events a worker's
# longest pause went from 190-210 ms to 22 ms, and full collections from 1.6-3.0% of its time
# to 0.4% (docs/benchmarks.md).
gc.freeze()
