from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from catalog.tests.factories import CategoryFactory, ProductFactory
from recommender.models import LearnedRecommendation, SimilarityKind
from recommender.selectors import stored_neighbours, trending_ranked, visitor_history
from recommender.tests.factories import ItemSimilarityFactory, TrendingScoreFactory
from tracking.models import EventType
from tracking.tests.factories import EventFactory, VisitorFactory

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


def test_visitor_history_reads_the_latest_events_and_purchases_newest_first():
    ann, bob = VisitorFactory.create(external_id="ann"), VisitorFactory.create()
    mug, lamp, rake = ProductFactory.create_batch(3)
    sold_out = ProductFactory.create(stock=0)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [
        (mug, EventType.PURCHASE),
        (sold_out, EventType.PURCHASE),
        (lamp, EventType.VIEW),
        (rake, EventType.ADD_TO_CART),
        (mug, EventType.PURCHASE),
    ]
    for minutes, (product, kind) in enumerate(rows):
        EventFactory.create(
            visitor=ann,
            product=product,
            event_type=kind,
            occurred_at=start + timedelta(minutes=minutes),
        )
    EventFactory.create(visitor=bob, product=lamp, event_type=EventType.PURCHASE)

    history = visitor_history(visitor="ann", length=3, purchase_length=2)

    assert history.recent.product.tolist() == [mug.pk, rake.pk, lamp.pk]
    assert history.recent.weight.tolist() == [5.0, 3.0, 1.0]
    assert history.recent_categories.tolist() == [
        mug.category_id,
        rake.category_id,
        lamp.category_id,
    ]
    assert history.purchases.product.tolist() == [mug.pk, sold_out.pk]
    # SQLite's julian days are exact to about 10 microseconds.
    assert history.purchases.timestamp.tolist() == pytest.approx(
        [(start + timedelta(minutes=4)).timestamp(), (start + timedelta(minutes=1)).timestamp()],
        abs=1e-3,
    )
    assert history.purchased_available == {mug.pk: mug.category_id}


def test_visitor_history_puts_each_part_in_its_own_order_when_read_together():
    # On PostgreSQL the three parts are one UNION ALL, which keeps no order of its own.
    ann = VisitorFactory.create(external_id="ann")
    first, second, third = ProductFactory.create_batch(3)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for minutes, (product, kind) in enumerate(
        [(first, EventType.PURCHASE), (second, EventType.VIEW), (third, EventType.PURCHASE)]
    ):
        EventFactory.create(
            visitor=ann,
            product=product,
            event_type=kind,
            occurred_at=start + timedelta(minutes=minutes),
        )
    for product, score in [(second, 0.2), (first, 0.9), (third, 0.5)]:
        LearnedRecommendation.objects.create(
            visitor=ann, product=product, score=score, computed_at=start
        )

    history = visitor_history(visitor="ann", length=50, purchase_length=50, learned_length=50)

    assert history.recent.product.tolist() == [third.pk, second.pk, first.pk]
    assert history.recent_events.timestamp.tolist() == sorted(
        history.recent_events.timestamp.tolist(), reverse=True
    )
    assert history.purchases.product.tolist() == [third.pk, first.pk]
    assert history.learned.product.tolist() == [first.pk, third.pk, second.pk]
    assert history.learned.score.tolist() == [0.9, 0.5, 0.2]
    assert history.learned_categories.tolist() == [
        first.category_id,
        third.category_id,
        second.category_id,
    ]


def test_visitor_history_reads_only_the_parts_asked_for():
    visitor = VisitorFactory.create(external_id="ann")
    EventFactory.create(visitor=visitor, event_type=EventType.PURCHASE)
    EventFactory.create(visitor=visitor, event_type=EventType.VIEW)

    recent_only = visitor_history(visitor="ann", length=50)
    purchases_only = visitor_history(visitor="ann", length=0, purchase_length=50)
    nobody = visitor_history(visitor="nobody", length=50, purchase_length=50)

    assert (len(recent_only.recent.product), len(recent_only.purchases.product)) == (2, 0)
    assert (len(purchases_only.recent.product), len(purchases_only.purchases.product)) == (0, 1)
    assert len(nobody.recent.product) == len(nobody.purchases.product) == 0
