"""What the recommender measures in each process (exposed by the project's /metrics)."""

from __future__ import annotations

from prometheus_client import Histogram

RECOMMENDATION_SECONDS = Histogram(
    "shopsmart_recommendation_seconds",
    "Time to answer a recommendation list (cache hit or not), by the strategy it used.",
    ["strategy"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
