"""Reads for the recommender, one module per kind of stored data; the names callers use are
re-exported here."""

from recommender.selectors.events import (
    catalog_arrays,
    event_arrays,
    events_end,
    product_categories,
    product_texts,
)
from recommender.selectors.history import VisitorHistory, visitor_history
from recommender.selectors.neighbours import (
    NeighbourRow,
    neighbours_browsable,
    product_neighbours,
    stored_neighbours,
)
from recommender.selectors.runs import (
    evaluation_figures,
    pipeline_last_successes,
    pipeline_latest_finished,
    pipeline_run_counts,
)
from recommender.selectors.sessions import (
    served_live_ranker,
    served_session_index,
    session_index_forget,
)
from recommender.selectors.trending import product_popularity, trending_ranked, trending_top

__all__ = [
    "NeighbourRow",
    "VisitorHistory",
    "catalog_arrays",
    "evaluation_figures",
    "event_arrays",
    "events_end",
    "neighbours_browsable",
    "pipeline_last_successes",
    "pipeline_latest_finished",
    "pipeline_run_counts",
    "product_categories",
    "product_neighbours",
    "product_popularity",
    "product_texts",
    "served_live_ranker",
    "served_session_index",
    "session_index_forget",
    "stored_neighbours",
    "trending_ranked",
    "trending_top",
    "visitor_history",
]
