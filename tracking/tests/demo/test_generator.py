"""The demo generator's promises: shares, funnel, structure and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.algorithms.events import ADD_TO_CART, PURCHASE, SECONDS_PER_DAY, VIEW
from tracking.demo.generator import (
    DemoConfig,
    GroupSampler,
    funnel_probabilities,
    generate,
)


@pytest.fixture(scope="module")
def data():
    return generate(DemoConfig(products=2_000, visitors=2_000, events=200_000, seed=7))


def test_exactly_the_requested_numbers(data):
    assert len(data.events) == 200_000
    assert len(data.products) == 2_000
    assert len(data.visitors) == 2_000
    assert len(data.categories) == 10


def test_event_mix_is_80_15_5(data):
    shares = np.bincount(data.events.event_type, minlength=3) / len(data.events)
    assert shares[VIEW] == pytest.approx(0.80, abs=0.01)
    assert shares[ADD_TO_CART] == pytest.approx(0.15, abs=0.01)
    assert shares[PURCHASE] == pytest.approx(0.05, abs=0.005)


def test_funnel_rates_reproduce_the_mix_analytically():
    a, b = funnel_probabilities((0.80, 0.15, 0.05), complement_share=0.4)
    c = 0.4
    views, carts, purchases = 1 + a * b * c, a + a * b * c, a * b + a * b * c
    total = views + carts + purchases
    assert (views / total, carts / total, purchases / total) == pytest.approx((0.8, 0.15, 0.05))


def test_anonymous_share_is_70_percent(data):
    assert data.visitors.is_anonymous.mean() == pytest.approx(0.70, abs=0.001)


def test_preferred_categories_receive_90_percent_of_events(data):
    preferred = data.visitors.preferred[data.events.visitor]
    category = data.products.category[data.events.product]
    in_preferred = (category == preferred[:, 0]) | (category == preferred[:, 1])
    assert in_preferred.mean() == pytest.approx(0.90, abs=0.02)
    counts = (data.visitors.preferred >= 0).sum(axis=1)
    assert set(np.unique(counts)) == {1, 2}


def test_recent_days_are_busier(data):
    days_ago = data.events.seconds_before_end / SECONDS_PER_DAY
    assert days_ago.min() >= 0
    assert days_ago.max() <= 90
    # Exponential ages with a 30-day mean, truncated at 90 days.
    expected_last_30 = (1 - np.exp(-1)) / (1 - np.exp(-3))
    assert (days_ago < 30).mean() == pytest.approx(expected_last_30, abs=0.03)
    weekly = np.histogram(days_ago, bins=np.arange(0, 91, 7))[0]
    assert weekly[0] > 2 * weekly[-1]


def test_carts_and_purchases_follow_views_in_the_same_session(data):
    events = data.events
    seen: set[tuple[int, int]] = set()
    carted: set[tuple[int, int]] = set()
    # Within a session events are in time order, i.e. decreasing age.
    for session, product, kind in zip(
        events.session, events.product, events.event_type, strict=True
    ):
        key = (int(session), int(product))
        if kind == VIEW:
            seen.add(key)
        elif kind == ADD_TO_CART:
            assert key in seen
            carted.add(key)
        else:
            assert key in carted
    for session in np.unique(events.session)[:500]:
        ages = events.seconds_before_end[events.session == session]
        assert np.all(np.diff(ages) <= 0)


def test_complements_are_bought_together(data):
    events = data.events
    purchases = events.event_type == PURCHASE
    bought: dict[int, set[int]] = {}
    for session, product in zip(events.session[purchases], events.product[purchases], strict=True):
        bought.setdefault(int(session), set()).add(int(product))
    pairs = together = 0
    for basket in bought.values():
        for product in basket:
            pairs += 1
            together += bool(basket & set(data.products.complements[product].tolist()))
    # Without planted complements, a random co-purchase is rare (~1% of a category).
    assert together / pairs > 0.2


def test_shoppers_have_a_taste_a_popularity_list_cannot_see(data):
    """A shopper's views concentrate on styles they like far more than the catalog does."""
    views = data.events.event_type == VIEW
    style = data.products.style[data.events.product[views]]
    visitor = data.events.visitor[views]
    favourite = data.visitors.taste.argmax(axis=1)[visitor]
    assert (style == favourite).mean() > 2 / len(data.visitors.taste[0])


def test_popularity_is_skewed_inside_categories(data):
    counts = np.bincount(data.events.product, minlength=len(data.products))
    top_decile = np.sort(counts)[::-1][: len(counts) // 10].sum()
    assert top_decile / counts.sum() > 0.3


def test_reviews_are_for_purchases_and_rated_one_to_five(data):
    purchased = set(
        zip(
            data.events.visitor[data.events.event_type == PURCHASE].tolist(),
            data.events.product[data.events.event_type == PURCHASE].tolist(),
            strict=True,
        )
    )
    reviews = data.reviews
    assert len(reviews) > 0
    assert set(zip(reviews.visitor.tolist(), reviews.product.tolist(), strict=True)) <= purchased
    assert reviews.rating.min() >= 1
    assert reviews.rating.max() <= 5
    assert len(set(zip(reviews.visitor.tolist(), reviews.product.tolist(), strict=True))) == len(
        reviews
    )


def test_same_seed_same_data_and_another_seed_other_data():
    config = DemoConfig(products=200, visitors=100, events=5_000, seed=3)
    first, second = generate(config), generate(config)
    other = generate(DemoConfig(products=200, visitors=100, events=5_000, seed=4))
    for field in ("visitor", "product", "event_type", "seconds_before_end", "session"):
        assert np.array_equal(getattr(first.events, field), getattr(second.events, field))
    assert first.products.names == second.products.names
    assert not np.array_equal(first.events.product, other.events.product)


def test_more_categories_than_themes_become_sub_categories():
    data = generate(DemoConfig(categories=20, products=400, visitors=50, events=2_000))
    assert len(data.categories) == 20
    assert len({c.name for c in data.categories}) == 20
    assert len({c.slug for c in data.categories}) == 20
    children = [c for c in data.categories if c.parent is not None]
    assert len(children) == 8
    leaves = set(data.leaf_categories)
    assert set(np.unique(data.products.category).tolist()) == leaves


def test_every_category_gets_products_even_when_tiny():
    data = generate(DemoConfig(categories=5, products=5, visitors=3, events=50))
    assert sorted(data.products.category.tolist()) == [0, 1, 2, 3, 4]
    assert len(data.events) == 50


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"products": 5, "categories": 10}, "products"),
        ({"visitors": 0}, "visitors"),
        ({"events": -1}, "events"),
        ({"event_mix": (0.5, 0.5, 0.5)}, "event_mix"),
    ],
)
def test_impossible_configurations_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        DemoConfig(**fields)


def test_group_sampler_never_leaves_the_group():
    rng = np.random.default_rng(0)
    groups = np.array([0, 0, 0, 2, 2, 3])
    weights = np.array([1.0, 1.0, 8.0, 1.0, 1.0, 1.0])
    sampler = GroupSampler(groups, weights, group_count=4)
    assert sampler.has_items.tolist() == [True, False, True, True]
    draws = sampler.sample(np.full(20_000, 0), rng)
    assert set(groups[draws].tolist()) == {0}
    assert (draws == 2).mean() == pytest.approx(0.8, abs=0.02)
    assert set(groups[sampler.sample(np.full(1_000, 3), rng)].tolist()) == {3}
