"""The live protocol on the imported UCI Online Retail data: the served list beside its peers.

Run by `bench/real_data.py --live` on its database. Orders of the month are replayed in time
order: the first half of each invoice's products goes in the basket (cart adds at that moment),
the served recommender is asked and the rest of the invoice is scored (recommender.algorithms
.live). Every parameter of the live part was chosen on the validation month (August 2011:
recommender.configuration); the test month (September 2011) is reported once, with the same
parameters, and recorded as an evaluation run. The peers' EASE penalties are chosen here on
August too, from the same grid as the monthly benchmark's, so they are as strong as we can
make them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")

import django

django.setup()

from django.conf import settings  # noqa: E402

from recommender.algorithms.behavioural import SimilarityMethod  # noqa: E402
from recommender.algorithms.evaluation import (  # noqa: E402
    EvaluationConfig,
    EvaluationResult,
    evaluate,
)
from recommender.algorithms.events import SECONDS_PER_DAY  # noqa: E402
from recommender.algorithms.live import LIVE_ROWS, PEER_NAMES  # noqa: E402
from recommender.configuration import served_recommender  # noqa: E402
from recommender.models import SimilarityKind  # noqa: E402
from recommender.pipelines import SIMILARITY_HISTORY_DAYS, evaluation_record  # noqa: E402
from recommender.selectors import catalog_arrays, event_arrays, stored_neighbours  # noqa: E402

KS = (5, 10, 20)
K = max(KS)
VALIDATION = (datetime(2011, 8, 1, tzinfo=UTC), datetime(2011, 9, 1, tzinfo=UTC))
TEST = (datetime(2011, 9, 1, tzinfo=UTC), datetime(2011, 10, 1, tzinfo=UTC))
EASE_GRID = (50.0, 200.0, 800.0)
EVERYONE = 10**9


def run(
    period: tuple[datetime, datetime],
    *,
    basket_l2: float,
    customer_l2: float,
    learned: bool = True,
) -> EvaluationResult:
    """The served recommender (without its learned lists and live ranking if not `learned`:
    the peers do not need them) and the peers on one month."""
    start, end = (moment.timestamp() for moment in period)
    events = event_arrays(since=datetime(2010, 1, 1, tzinfo=UTC), until=period[1])
    config = EvaluationConfig(
        test_days=(end - start) / SECONDS_PER_DAY,
        ks=KS,
        similarity_days=SIMILARITY_HISTORY_DAYS,
        max_visitors=EVERYONE,
        live_max_cases=EVERYONE,
        similarity=SimilarityMethod(settings.RECOMMENDER_SIMILARITY_METHOD),
        l2=settings.RECOMMENDER_EASE_L2,
        half_life_days=settings.RECOMMENDER_REPEAT_HALF_LIFE_DAYS,
        repeat_weight=settings.RECOMMENDER_REPEAT_WEIGHT,
        recommenders=(
            replace(
                served_recommender(),
                learned=learned,
                live_ranker=served_recommender().live_ranker if learned else None,
            ),
        ),
        basket_ease_l2=basket_l2,
        customer_ease_l2=customer_l2,
    )
    return evaluate(
        events,
        catalog=catalog_arrays(),
        content=stored_neighbours(SimilarityKind.CONTENT, per_product=20),
        now=end,
        config=config,
    )


def ndcg(result: EvaluationResult, name: str, row: str) -> float | None:
    metrics = result.results.get(name, {}).get(row)
    return None if metrics is None else metrics.figures[("ndcg", K)]


def table(result: EvaluationResult, label: str) -> dict[str, Any]:
    served = served_recommender().name
    print(f"\n{label}: live cases {result.live_cases}, NDCG@{K}")
    print(
        f"{'row':<20}{'cases':>7}{served:>9}"
        + "".join(f"{p:>15}" for p in PEER_NAMES)
        + f"{'vs best':>9}"
    )
    figures: dict[str, Any] = {}
    for row in LIVE_ROWS:
        ours = ndcg(result, served, row)
        peers = {p: ndcg(result, p, row) for p in PEER_NAMES}
        measured = [v for v in peers.values() if v is not None]
        best = max(measured) if measured else None
        ratio = ours / best if ours is not None and best else None
        cases = result.results[served][row].visitors if ours is not None else 0
        cells = "".join(f"{v:>15.4f}" if v is not None else f"{'-':>15}" for v in peers.values())
        print(f"{row:<20}{cases:>7}{ours or 0:>9.4f}{cells}{ratio or 0:>8.2f}x")
        figures[row] = {"cases": cases, served: ours, **peers, "ratio_to_best_peer": ratio}
    return figures


def main() -> None:
    started = time.perf_counter()
    # The peers' EASE penalties, chosen on August by their own NDCG@20 (guests' row for the
    # basket EASE, the returning rows for the customer EASE).
    validation = {
        l2: run(VALIDATION, basket_l2=l2, customer_l2=l2, learned=False) for l2 in EASE_GRID
    }
    basket_l2 = max(
        EASE_GRID, key=lambda l2: ndcg(validation[l2], "basket_ease", "live_guests") or 0
    )
    customer_l2 = max(
        EASE_GRID,
        key=lambda l2: sum(
            ndcg(validation[l2], "customer_ease", row) or 0
            for row in ("live_returning", "live_returning_all")
        ),
    )
    august = run(VALIDATION, basket_l2=basket_l2, customer_l2=customer_l2)
    validated = table(august, "Validation, August 2011")
    if os.environ.get("BENCH_LIVE_VALIDATION_ONLY"):
        # Choosing parameters: the test month stays unseen.
        print("JSON " + json.dumps({"validation": validated}))
        return
    september = run(TEST, basket_l2=basket_l2, customer_l2=customer_l2)
    tested = table(september, "Test, September 2011")
    served = served_recommender()
    parameters = {
        "benchmark": "real_data_live",
        "validation": [moment.isoformat() for moment in VALIDATION],
        "test": [moment.isoformat() for moment in TEST],
        "live_weight": served.live_weight,
        "live_weight_nightly": served.live_weight_nightly,
        "live_neighbour_weight": served.live_neighbour_weight,
        "session": served.session.__dict__,
        "basket_ease_l2": basket_l2,
        "customer_ease_l2": customer_l2,
        "recommenders": [served.name],
    }
    run_id = evaluation_record(parameters=parameters, result=september).pk
    figures = {
        "parameters": parameters,
        "validation": validated,
        "test": tested,
        "evaluation_run": run_id,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"\nrecorded as evaluation run #{run_id} in {figures['seconds']} s")
    print("JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
