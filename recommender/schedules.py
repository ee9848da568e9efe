"""The one declaration of every periodic job (installed into django-celery-beat's tables)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    # Cron fields, UTC.
    minute: str
    hour: str = "*"
    day_of_week: str = "*"
    # A run not started within this many seconds is dropped: the next one is due soon anyway.
    expire_seconds: int = 3_600
    description: str = ""


SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob(
        name="Trending scores (hourly)",
        task="recommender.compute_trending",
        minute="5",
        expire_seconds=50 * 60,
        description="7-day and 30-day time-decayed trending scores.",
    ),
    PeriodicJob(
        name="Session index (every 10 minutes)",
        task="recommender.compute_sessions",
        minute="*/10",
        expire_seconds=9 * 60,
        description="Recent past sessions and orders for live recommendations, within 15 minutes.",
    ),
    PeriodicJob(
        name="Item similarity (daily, 02:00 UTC)",
        task="recommender.compute_similarity",
        minute="0",
        hour="2",
        expire_seconds=3 * 60 * 60,
        description="Item-to-item neighbours from the last 90 days of events.",
    ),
    PeriodicJob(
        name="Content similarity (daily, 01:30 UTC)",
        task="recommender.compute_content_similarity",
        minute="30",
        hour="1",
        expire_seconds=3 * 60 * 60,
        description="TF-IDF neighbours from product names, descriptions and categories.",
    ),
    PeriodicJob(
        name="Bought together (daily, 01:00 UTC)",
        task="recommender.compute_bought_together",
        minute="0",
        hour="1",
        expire_seconds=3 * 60 * 60,
        description="Products bought in the same baskets over the last year.",
    ),
    PeriodicJob(
        name="Learned ranking (daily, 02:30 UTC)",
        task="recommender.compute_ranking",
        minute="30",
        hour="2",
        expire_seconds=3 * 60 * 60,
        description="Each returning buyer's list of new products, by a ranker relearnt daily.",
    ),
    PeriodicJob(
        name="Live ranking (daily, 01:45 UTC)",
        task="recommender.compute_live_ranking",
        minute="45",
        hour="1",
        expire_seconds=3 * 60 * 60,
        description="The request-time ranking of session candidates, relearnt from recent orders.",
    ),
    PeriodicJob(
        name="Evaluation (weekly, Sunday 03:00 UTC)",
        task="recommender.evaluate",
        minute="0",
        hour="3",
        day_of_week="0",
        expire_seconds=6 * 60 * 60,
        description="Temporal-split evaluation of the served recommender and the baselines.",
    ),
    PeriodicJob(
        name="Impressions (every minute)",
        task="tracking.flush_impressions",
        minute="*",
        expire_seconds=50,
        description="Writes the recommendation lists shown (buffered in Redis) to the database.",
    ),
    PeriodicJob(
        name="Outbox sweep (every minute)",
        task="outbox.sweep",
        minute="*",
        expire_seconds=50,
        description="Re-sends the tasks the broker has not taken yet (infrastructure.outbox).",
    ),
    PeriodicJob(
        name="Email retry (every 5 minutes)",
        task="mail.retry",
        minute="*/5",
        expire_seconds=4 * 60,
        description="Queues again the emails still unsent (infrastructure.mail).",
    ),
)
