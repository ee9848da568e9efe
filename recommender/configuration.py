"""What is served: the recommender the API serves and the evaluation measures, and the list
lengths serving and the pipelines share (the ranking pipeline stores lists as long as
serving reads them)."""

from __future__ import annotations

from django.conf import settings

from recommender.algorithms.evaluation import Recommender
from recommender.algorithms.live_ranker import LiveRankerConfig
from recommender.algorithms.ranker import RANKED_LIST_MARGIN
from recommender.algorithms.sessions import SessionConfig
from recommender.models import TrendingWindow

# Category trending, and global trending for the recommendations: the 7-day window, the most
# recent interest.
RECOMMENDATION_TRENDING_WINDOW = TrendingWindow.DAYS_7
# The longest list the API serves, and how deep each trending tier is kept for the longest
# list's fill (recommend() draws at most 3 k + 20 of each).
MAX_K = 50
FILL_DEPTH = 3 * MAX_K + 20
# How long each stored learned list is (compute_ranking), all of which a recommendation reads.
LEARNED_LENGTH = MAX_K + RANKED_LIST_MARGIN
# The sessions pipeline indexes the past sessions of SESSION_CONFIG.max_age_days (the most
# recent of them, at most SESSION_INDEX_MAX_SESSIONS: about 10 MB at 15 products a session).
SESSION_INDEX_MAX_SESSIONS = 200_000
# V-SKNN's parameters, the weight of the session products' neighbours in the live candidates,
# and how much those count against a history's neighbours and (while the blend serves, before
# a live ranking is learnt: the ranking ranks them itself) against a learned list or repeats:
# chosen on the validation month under the live protocol (docs/recommender.md).
SESSION_CONFIG = SessionConfig(neighbours=50, sample=1_000, idf=True, max_age_days=180.0)
LIVE_NEIGHBOUR_WEIGHT = 0.25
LIVE_WEIGHT = 8.0
LIVE_WEIGHT_NIGHTLY = 2.0
LIVE_RANKER_CONFIG = LiveRankerConfig()
# The content neighbours of each session product the live ranking reads (as many as the
# content pipeline stores).
LIVE_CONTENT_NEIGHBOURS = 20
# How many of a visitor's latest purchases buy-again reads: years of a regular's orders.
PURCHASE_HISTORY_LENGTH = 500


def served_recommender() -> Recommender:
    """The recommender the API serves and the evaluation measures as "tiered"."""
    return Recommender(
        "tiered",
        content_weight=settings.RECOMMENDER_CONTENT_WEIGHT,
        learned=True,
        live_weight=LIVE_WEIGHT,
        live_weight_nightly=LIVE_WEIGHT_NIGHTLY,
        live_neighbour_weight=LIVE_NEIGHBOUR_WEIGHT,
        session=SESSION_CONFIG,
        live_ranker=LIVE_RANKER_CONFIG,
    )
