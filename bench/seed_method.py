"""The dense similarity method next to ours, on the same events (run by bench/run.py).

The dense method (the store's first design, kept here as the baseline to beat) pivots the
visitors x products weights into a dense pandas frame, runs scikit-learn's dense
cosine_similarity over products, drops pairs with fewer than 2 common visitors and keeps the
top 50. Its common-visitor count was computed on booleans, which drops every pair; here it is
fixed (integer counts), so both methods must find the same neighbours and the comparison is of
speed and memory alone. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import django
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")
django.setup()

import pandas as pd  # noqa: E402
from django.utils import timezone  # noqa: E402
from sklearn.metrics.pairwise import cosine_similarity  # noqa: E402

from recommender.algorithms.item_similarity import (  # noqa: E402
    DEFAULT_MIN_COMMON_VISITORS,
    DEFAULT_TOP_K,
    interaction_matrix,
    item_neighbours,
)
from recommender.pipelines import SIMILARITY_HISTORY_DAYS  # noqa: E402
from recommender.selectors import event_arrays  # noqa: E402


def seed_neighbours(frame: pd.DataFrame) -> dict[int, set[int]]:
    """The dense method: dense pivot, dense cosine, (fixed) common-visitor filter, top 50."""
    pivot = frame.pivot_table(
        index="visitor", columns="product", values="weight", aggfunc="sum", fill_value=0.0
    )
    values = pivot.to_numpy(dtype=np.float64)
    similarity = cosine_similarity(values.T)
    interacted = (values > 0).astype(np.float64)
    common = interacted.T @ interacted
    np.fill_diagonal(similarity, 0.0)
    similarity[common < DEFAULT_MIN_COMMON_VISITORS] = 0.0
    products = pivot.columns.to_numpy()
    result: dict[int, set[int]] = {}
    for row, product in enumerate(products):
        scores = similarity[row]
        best = np.argsort(-scores, kind="stable")[:DEFAULT_TOP_K]
        best = best[scores[best] > 0]
        if len(best):
            result[int(product)] = {int(products[column]) for column in best}
    return result


def main() -> None:
    now = timezone.now()
    events = event_arrays(since=now - timedelta(days=SIMILARITY_HISTORY_DAYS), until=now)
    frame = pd.DataFrame(
        {"visitor": events.visitor, "product": events.product, "weight": events.weights()}
    )
    started = time.perf_counter()
    seed = seed_neighbours(frame)
    seed_seconds = time.perf_counter() - started

    started = time.perf_counter()
    ours = item_neighbours(interaction_matrix(events))
    ours_seconds = time.perf_counter() - started
    ours_sets: dict[int, set[int]] = {}
    for product, neighbour in zip(ours.product, ours.neighbour, strict=True):
        ours_sets.setdefault(int(product), set()).add(int(neighbour))

    # Sets differ only where a product's 50th place is tied; count exact agreement.
    agreeing = sum(1 for product, found in seed.items() if ours_sets.get(product) == found)
    visitors, products = len(np.unique(events.visitor)), len(np.unique(events.product))
    print(
        json.dumps(
            {
                "events": len(events),
                "visitors": visitors,
                "products": products,
                "seed_compute_seconds": round(seed_seconds, 3),
                "ours_compute_seconds": round(ours_seconds, 3),
                "speed_ratio": round(seed_seconds / ours_seconds, 1),
                "products_with_neighbours": len(seed),
                "products_with_neighbours_ours": len(ours_sets),
                "products_with_identical_neighbour_sets": agreeing,
                # Dense float64 arrays the dense method holds at once: the pivot, the cosine matrix,
                # the common-visitor matrix (a bool copy of the pivot is small beside them).
                "seed_memory_gib_here": round(
                    (visitors * products + 2 * products * products) * 8 / 2**30, 3
                ),
                "seed_memory_gib_at_100x": round(
                    (50_000 * 100_000 + 2 * 100_000 * 100_000) * 8 / 2**30, 1
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
