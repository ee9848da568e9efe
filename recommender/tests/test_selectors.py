from __future__ import annotations

import numpy as np
import pytest

from catalog.tests.factories import CategoryFactory, ProductFactory
from recommender.models import SimilarityKind
from recommender.selectors import stored_neighbours, trending_ranked
from recommender.tests.factories import ItemSimilarityFactory, TrendingScoreFactory

pytestmark = pytest.mark.django_db


def test_the_neighbours_of_a_few_products_are_those_of_the_whole_table():
    products = ProductFactory.create_batch(6)
    for product in products[:3]:
        for rank, other in enumerate(products[3:]):
            ItemSimilarityFactory.create(
                product=product, similar_product=other, score=0.9 - rank / 10
            )
    # A tie at the cut: the lower product id wins, as in the full read.
    ItemSimilarityFactory.create(product=products[0], similar_product=products[1], score=0.7)
    everything = stored_neighbours(SimilarityKind.BEHAVIOURAL, per_product=2)
    few = stored_neighbours(
        SimilarityKind.BEHAVIOURAL,
        per_product=2,
        products=np.array([products[0].pk, products[2].pk, products[0].pk]),
    )
    wanted = np.isin(everything.product, [products[0].pk, products[2].pk])
    for column in ("product", "neighbour", "score", "co_occurrence"):
        assert np.array_equal(getattr(few, column), getattr(everything, column)[wanted])


def test_trending_ranked_keeps_the_best_available_of_each_category():
    kitchen, garden = CategoryFactory.create_batch(2)
    scores = {}
    for category, values in ((kitchen, (5.0, 3.0, 1.0)), (garden, (4.0,))):
        for value in values:
            product = ProductFactory.create(category=category)
            scores[product.pk] = TrendingScoreFactory.create(product=product, score=value)
    sold_out = ProductFactory.create(category=garden, stock=0)
    TrendingScoreFactory.create(product=sold_out, score=9.0)
    ranked = trending_ranked(window="7d", depth=2)
    by_group = {
        group: ranked.score[ranked.group == group].tolist() for group in np.unique(ranked.group)
    }
    assert by_group == {kitchen.pk: [5.0, 3.0], garden.pk: [4.0]}
