"""What the API and the storefront serve: recommendations, similar, bought together and
trending products, cached. `contracts` holds the vocabulary, `inputs` assembles what the
recommender needs, `explanations` says why, `lists` answers; the names callers use are
re-exported here."""

from recommender.configuration import MAX_K, RECOMMENDATION_TRENDING_WINDOW, served_recommender
from recommender.serving.contracts import (
    BoughtTogetherList,
    Item,
    Reason,
    ReasonType,
    RecommendationList,
    RecommendationRequest,
    RecommendationScenario,
    RecommendationStrategy,
    SimilarList,
    SimilarStrategy,
    TrendingList,
)
from recommender.serving.lists import (
    bought_together,
    recommendations,
    recommendations_assigned,
    similar_products,
    trending_products,
)

__all__ = [
    "MAX_K",
    "RECOMMENDATION_TRENDING_WINDOW",
    "BoughtTogetherList",
    "Item",
    "Reason",
    "ReasonType",
    "RecommendationList",
    "RecommendationRequest",
    "RecommendationScenario",
    "RecommendationStrategy",
    "SimilarList",
    "SimilarStrategy",
    "TrendingList",
    "bought_together",
    "recommendations",
    "recommendations_assigned",
    "served_recommender",
    "similar_products",
    "trending_products",
]
