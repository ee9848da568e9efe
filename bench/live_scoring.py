"""What the live ranking costs one request, on the bench store: its features and classifier.

Reads `bench/api.py`'s store (BENCH_API_DATABASE_URL; run `python bench/api.py --only miss`
once to build it), takes sessions of 2 to 7 products from its session index (the last products
of past sessions, asked now, as a shopper's current session), and for each computes the live
ranking's features and scores them twice: with scikit-learn's `predict_proba` and with the
compiled trees the ranking serves with (recommender/algorithms/boosted_trees.py). One OpenMP
and BLAS thread, as in a web process (shopsmart/wsgi.py). Prints the medians per query and
checks that both give the same probabilities.

    python bench/live_scoring.py [--queries 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import DEFAULT_URL  # noqa: E402
from run import ROOT  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", os.environ.get("BENCH_API_DATABASE_URL", DEFAULT_URL))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import numpy as np

    from recommender.algorithms.live_ranker import FEATURES, query_features
    from recommender.algorithms.sessions import CurrentSessions
    from recommender.configuration import LIVE_CONTENT_NEIGHBOURS
    from recommender.models import SimilarityKind
    from recommender.selectors import served_live_ranker, served_session_index, stored_neighbours

    ranker, index = served_live_ranker(), served_session_index()
    if ranker is None or len(index) == 0:
        sys.exit("no live ranking on the bench store: run `python bench/api.py --only miss` first")
    rng = np.random.default_rng(0)
    indptr, indices = index.matrix.indptr, index.matrix.indices
    long_enough = np.flatnonzero(np.diff(indptr) >= 2)
    times: dict[str, list[float]] = {"features": [], "predict_proba": [], "compiled": []}
    rows = []
    now = time.time()
    for row in rng.choice(long_enough, size=min(args.queries, len(long_enough)), replace=False):
        held = indices[indptr[row] : indptr[row + 1]]
        products = index.product[held[-int(rng.integers(2, 8)) :]]
        session = CurrentSessions(
            query=np.zeros(len(products), dtype=np.int64), product=products, at=np.array([now])
        )
        content = stored_neighbours(
            SimilarityKind.CONTENT, per_product=LIVE_CONTENT_NEIGHBOURS, products=products
        )
        started = time.perf_counter()
        features = query_features(
            index, session, content, session=ranker.session, config=ranker.config
        )
        times["features"].append(time.perf_counter() - started)
        if len(features.product) == 0:
            continue
        rows.append(len(features.product))
        if (features.values[:, FEATURES.index("returning")] > 0).any():
            sys.exit("a guest's query was scored as a returning buyer's")
        started = time.perf_counter()
        by_scikit_learn = ranker.model.predict_proba(features.values)[:, 1]
        times["predict_proba"].append(time.perf_counter() - started)
        started = time.perf_counter()
        served = ranker.score(features)
        times["compiled"].append(time.perf_counter() - started)
        if not np.array_equal(served, by_scikit_learn):
            sys.exit("the compiled trees' probabilities differ from predict_proba's")
    print(
        f"{len(rows)} sessions of 2-7 products, {statistics.median(rows):.0f} candidates each "
        f"(median), {ranker.model.n_iter_} trees; medians per query, one thread:"
    )
    for name, measured in times.items():
        print(f"  {name:<14} {statistics.median(measured) * 1000:7.3f} ms")
    ratio = statistics.median(times["predict_proba"]) / statistics.median(times["compiled"])
    print(f"  the compiled trees: {ratio:.1f}x as fast as predict_proba, the same probabilities")


if __name__ == "__main__":
    main()
