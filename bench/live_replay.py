"""What replaying past orders as live queries costs: the live ranking's training, and the
evaluation's live protocol, ask thousands of them, each at its own time.

Reads the store DATABASE_URL names (the 100x demo store: `seed_demo --seed 42 --products
100000 --visitors 50000 --events 5000000`), builds the session index and the live ranking's
training orders as `fit_live_ranker` does at --now, and times `query_features` for the first
--orders of them as guests' sessions, three times. Prints the times and a digest of the
features: run it in two checkouts (a `git worktree` of the older one) to compare their speed
and to check that their features are the same.

    DATABASE_URL=postgres://.../shopsmart_100x python bench/live_replay.py [--orders 3200]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3_200)
    parser.add_argument("--now", default="2026-11-29", help="the replay's moment (a date)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import numpy as np

    from recommender.algorithms.evaluation import LIVE_INDEX_MAX_SESSIONS
    from recommender.algorithms.events import positions
    from recommender.algorithms.live import basket_sessions
    from recommender.algorithms.live_ranker import (
        DEFAULT_LIVE_RANKER_CONFIG,
        query_features,
        training_cases,
    )
    from recommender.algorithms.sessions import CurrentSessions, session_index
    from recommender.configuration import SESSION_CONFIG
    from recommender.models import SimilarityKind
    from recommender.selectors import catalog_arrays, event_arrays, stored_neighbours

    now = datetime.fromisoformat(args.now).replace(tzinfo=UTC)
    events = event_arrays(since=now - timedelta(days=400), until=now)
    index = session_index(events, catalog_arrays(), max_sessions=LIVE_INDEX_MAX_SESSIONS)
    content = stored_neighbours(SimilarityKind.CONTENT, per_product=20)
    cases = training_cases(events, now=now.timestamp(), config=DEFAULT_LIVE_RANKER_CONFIG)
    sessions = basket_sessions(cases)
    chosen = np.arange(min(args.orders, len(cases)))
    position, known = positions(chosen, sessions.query)
    asked = CurrentSessions(
        query=position[known], product=sessions.product[known], at=sessions.at[chosen]
    )
    print(f"{len(index):,} indexed sessions of {len(index.product):,} products; "
          f"{len(chosen):,} of {len(cases):,} training orders replayed")  # fmt: skip
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        features = query_features(index, asked, content, session=SESSION_CONFIG)
        seconds.append(time.perf_counter() - started)
    digest = hashlib.sha256()
    for array in (features.query, features.product, features.anchor, features.values):
        digest.update(np.ascontiguousarray(array).tobytes())
    print(f"query_features: {', '.join(f'{s:.2f}' for s in seconds)} s "
          f"(median {sorted(seconds)[1]:.2f} s); {len(features.product):,} rows; "
          f"features sha256 {digest.hexdigest()[:16]}")  # fmt: skip


if __name__ == "__main__":
    main()
