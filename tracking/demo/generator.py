"""A generative model of a shop's catalog and shoppers, for demo data and for evaluation.

Pure NumPy: no ORM, no settings. The same seed always gives the same data.

The model (see docs/demo-data.md for the reasoning):

* Catalog. Products belong to leaf categories; each has a *style* (classic, modern, rustic, ...)
  that shows in its name and description, a popularity that follows a Zipf law inside its
  category, a hidden quality, and 3 *complements* in its category that are often bought with it.
* Shoppers. 70% are anonymous. Each has 1-2 preferred categories, which receive 90% of their
  events, a latent *taste* over styles (a sparse Dirichlet draw), and an activity level
  (log-normal), so a few shoppers are much more active than most.
* Sessions. A session belongs to one shopper and one category (a preferred one with probability
  0.9, another otherwise) and starts at an age drawn from an exponential with a mean of a third
  of the period (30 days over 90), so recent days are busier. It has a geometric number of product
  views, each product drawn by popularity inside the category and a style taken from the
  session's style (75%) or the shopper's taste. Views are a minute or so apart.
* Funnel. A viewed product is added to the cart with probability a, a carted product is bought
  at checkout with probability b, and a bought product brings one of its complements along (viewed,
  carted, bought) with probability c. a and b are solved from c so the overall mix is
  exactly the requested one (80% views, 15% add-to-cart, 5% purchases) in expectation.
* Reviews. A share of purchases is reviewed some days later; the rating rises with the
  product's quality and with how well its style fits the shopper's taste.

Sessions are generated in a random order and the event stream is cut at exactly the requested
number of events, so the cut is unbiased.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import numpy.typing as npt

from tracking.demo.data import DemoCategory as DemoCategory
from tracking.demo.data import DemoConfig as DemoConfig
from tracking.demo.data import DemoData as DemoData
from tracking.demo.data import DemoEvents as DemoEvents
from tracking.demo.data import DemoProducts as DemoProducts
from tracking.demo.data import DemoReviews as DemoReviews
from tracking.demo.data import DemoVisitors as DemoVisitors
from tracking.demo.data import FloatArray, IntArray
from tracking.demo.sampling import GroupSampler as GroupSampler
from tracking.demo.sampling import funnel_probabilities as funnel_probabilities
from tracking.demo.vocabulary import REVIEW_COMMENTS, STYLES, THEMES
from tracking.vocabulary import ADD_TO_CART, PURCHASE, SECONDS_PER_DAY, VIEW

BoolArray = npt.NDArray[np.bool_]

# A session never lasts longer than this, which keeps every event inside the period.
MAX_SESSION_SECONDS = 3_000.0


def generate(config: DemoConfig) -> DemoData:
    rng = np.random.default_rng(config.seed)
    categories = _categories(config.categories)
    leaves = [i for i in range(len(categories)) if i not in {c.parent for c in categories}]
    products = _products(config, categories, leaves, rng)
    visitors = _visitors(config, leaves, rng)
    cart_rate, checkout_rate = funnel_probabilities(config.event_mix, config.complement_share)
    events = _events(config, products, visitors, leaves, cart_rate, checkout_rate, rng)
    reviews = _reviews(config, products, visitors, events, rng)
    return DemoData(
        config=config,
        categories=categories,
        products=products,
        visitors=visitors,
        events=events,
        reviews=reviews,
        funnel={"cart_rate": cart_rate, "checkout_rate": checkout_rate},
    )


def _slugify(text: str) -> str:
    kept = "".join(ch.lower() if ch.isalnum() else "-" for ch in text.replace("&", "and"))
    return "-".join(part for part in kept.split("-") if part)


def _categories(count: int) -> list[DemoCategory]:
    """Up to one top-level category per theme; beyond that, sub-categories under the themes."""
    top_level = min(count, len(THEMES))
    categories = [
        DemoCategory(theme.name, _slugify(theme.name), theme.description, index, None)
        for index, theme in enumerate(THEMES[:top_level])
    ]
    extra = count - top_level
    for n in range(extra):
        theme_index = n % len(THEMES)
        theme = THEMES[theme_index]
        round_ = n // len(THEMES)
        base = theme.sub_categories[round_ % len(theme.sub_categories)]
        name = base if round_ < len(theme.sub_categories) else f"{base} {round_ + 1}"
        if any(c.name == name for c in categories):
            name = f"{theme.name} {name}"
        categories.append(
            DemoCategory(
                name,
                _slugify(name),
                f"{base} from our {theme.name} range.",
                theme_index,
                theme_index,
            )
        )
    return categories


def _products(
    config: DemoConfig,
    categories: list[DemoCategory],
    leaves: list[int],
    rng: np.random.Generator,
) -> DemoProducts:
    n = config.products
    leaf_array = np.asarray(leaves, dtype=np.int64)
    # Every leaf gets at least one product; the rest are spread at random.
    category = np.concatenate([leaf_array, rng.choice(leaf_array, size=n - len(leaves))])
    rng.shuffle(category)
    style = rng.integers(0, len(STYLES), size=n)

    # Zipf popularity by a random rank inside each category.
    rank = np.empty(n, dtype=np.int64)
    for leaf in leaves:
        members = np.flatnonzero(category == leaf)
        rank[members] = rng.permutation(len(members))
    popularity = (1.0 / (rank + 1.0) ** config.popularity_exponent).astype(np.float64)
    quality = rng.normal(0.0, 0.5, size=n)

    by_category = GroupSampler(category, popularity, len(categories))
    complements = by_category.sample(np.repeat(category, 3), rng).reshape(n, 3)
    # A product is not its own complement: swap self-draws for a neighbour in the category.
    for column in range(3):
        own = complements[:, column] == np.arange(n)
        if own.any():
            complements[own, column] = by_category.sample(category[own], rng)

    theme = np.array([categories[c].theme for c in category])
    median = np.array([THEMES[t].median_price for t in theme])
    price_pence = np.maximum(
        99, (np.round(median * rng.lognormal(0.0, 0.45, size=n)) * 100 - 1).astype(np.int64)
    )
    stock = np.where(rng.random(n) < 0.04, 0, rng.integers(1, 250, size=n))
    is_active = rng.random(n) >= 0.02

    names, descriptions = [], []
    adjective_pick = rng.integers(0, 4, size=n)
    noun_pick = rng.integers(0, 1_000_000, size=n)
    material_pick = rng.integers(0, 1_000_000, size=n)
    for i in range(n):
        t = THEMES[theme[i]]
        s = STYLES[style[i]]
        adjective = s.adjectives[adjective_pick[i] % len(s.adjectives)]
        noun = t.nouns[noun_pick[i] % len(t.nouns)]
        material = t.materials[material_pick[i] % len(t.materials)]
        category_name = categories[category[i]].name
        names.append(f"{adjective} {material} {noun}")
        descriptions.append(
            f"A {s.name} {noun.lower()} in {material.lower()} from our {category_name} range. "
            f"{s.pitch} {t.usage}"
        )
    return DemoProducts(
        category=category,
        style=style,
        popularity=popularity,
        quality=quality,
        complements=complements,
        price_pence=price_pence,
        stock=stock,
        is_active=is_active,
        names=names,
        descriptions=descriptions,
    )


def _visitors(config: DemoConfig, leaves: list[int], rng: np.random.Generator) -> DemoVisitors:
    n = config.visitors
    anonymous_count = round(n * config.anonymous_share)
    is_anonymous = np.zeros(n, dtype=np.bool_)
    is_anonymous[rng.choice(n, size=anonymous_count, replace=False)] = True

    leaf_array = np.asarray(leaves, dtype=np.int64)
    preferred = np.full((n, 2), -1, dtype=np.int64)
    two = (rng.random(n) < 0.5) & (len(leaves) > 1)
    first_pick = rng.integers(0, len(leaves), size=n)
    # The second preferred category differs from the first: an offset of 1..L-1 around the ring.
    second_pick = (first_pick + rng.integers(1, max(len(leaves), 2), size=n)) % len(leaves)
    preferred[:, 0] = leaf_array[first_pick]
    preferred[two, 1] = leaf_array[second_pick[two]]

    taste = rng.dirichlet(np.full(len(STYLES), 0.4), size=n)
    activity = rng.lognormal(0.0, 1.0, size=n)
    return DemoVisitors(
        is_anonymous=is_anonymous, preferred=preferred, taste=taste, activity=activity
    )


def _categorical_rows(probabilities: FloatArray, rng: np.random.Generator) -> IntArray:
    """One draw per row of a matrix of row-wise probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    uniform = rng.random(len(probabilities)) * cumulative[:, -1]
    picks = (uniform[:, None] >= cumulative).sum(axis=1)
    result: IntArray = np.minimum(picks, probabilities.shape[1] - 1).astype(np.int64)
    return result


def _events(
    config: DemoConfig,
    products: DemoProducts,
    visitors: DemoVisitors,
    leaves: list[int],
    cart_rate: float,
    checkout_rate: float,
    rng: np.random.Generator,
) -> DemoEvents:
    target = config.events
    chunks: list[DemoEvents] = []
    produced = 0
    session_offset = 0
    events_per_view = 1 + cart_rate + cart_rate * checkout_rate * (1 + 3 * config.complement_share)
    while produced < target:
        sessions = int((target - produced) / (events_per_view * config.mean_views_per_session))
        sessions = max(64, int(sessions * 1.1))
        chunk = _session_batch(
            config,
            products,
            visitors,
            leaves,
            cart_rate,
            checkout_rate,
            sessions,
            session_offset,
            rng,
        )
        chunks.append(chunk)
        produced += len(chunk)
        session_offset += sessions
    columns = {
        column.name: np.concatenate([getattr(chunk, column.name) for chunk in chunks])[:target]
        for column in fields(DemoEvents)
    }
    return DemoEvents(**columns)


def _session_batch(
    config: DemoConfig,
    products: DemoProducts,
    visitors: DemoVisitors,
    leaves: list[int],
    cart_rate: float,
    checkout_rate: float,
    sessions: int,
    session_offset: int,
    rng: np.random.Generator,
) -> DemoEvents:
    styles = len(STYLES)
    category_count = int(products.category.max()) + 1
    # --- sessions: who, which category, which style, when
    visitor = rng.choice(
        len(visitors), size=sessions, p=visitors.activity / visitors.activity.sum()
    )
    preferred = visitors.preferred[visitor]
    has_second = preferred[:, 1] >= 0
    use_second = has_second & (rng.random(sessions) < 0.5)
    category = np.where(use_second, preferred[:, 1], preferred[:, 0])
    explore = rng.random(sessions) >= config.preferred_category_share
    if len(leaves) > 2:
        category[explore] = _other_category(preferred[explore], leaves, rng)
    session_style = _categorical_rows(visitors.taste[visitor], rng)

    # Ages follow an exponential with mean days/3, truncated to the period.
    mean_days = config.days / 3.0
    span = 1.0 - np.exp(-config.days / mean_days)
    age_days = -mean_days * np.log(1.0 - rng.random(sessions) * span)
    session_start = np.maximum(age_days * SECONDS_PER_DAY, MAX_SESSION_SECONDS)

    # --- views
    views_per_session = rng.geometric(1.0 / config.mean_views_per_session, size=sessions)
    view_session = np.repeat(np.arange(sessions), views_per_session)
    view_style = np.where(
        rng.random(len(view_session)) < config.session_style_share,
        session_style[view_session],
        _categorical_rows(visitors.taste[visitor[view_session]], rng),
    )
    group = products.category * styles + products.style
    by_group = GroupSampler(group, products.popularity, category_count * styles)
    by_category = GroupSampler(products.category, products.popularity, category_count)
    view_category = category[view_session]
    view_group = view_category * styles + view_style
    view_product = by_group.sample(view_group, rng)
    empty = ~by_group.has_items[view_group]
    if empty.any():
        view_product[empty] = by_category.sample(view_category[empty], rng)

    dwell = rng.exponential(60.0, size=len(view_session))
    elapsed = np.cumsum(dwell)
    first_view = np.concatenate(([0], np.cumsum(views_per_session)[:-1]))
    view_offset = elapsed - (elapsed[first_view] - dwell[first_view])[view_session]
    view_offset = np.minimum(view_offset, MAX_SESSION_SECONDS - 400.0)
    checkout_offset = np.zeros(sessions)
    np.maximum.at(checkout_offset, view_session, view_offset)
    checkout_offset += 120.0

    # --- funnel
    carted = rng.random(len(view_session)) < cart_rate
    bought = carted & (rng.random(len(view_session)) < checkout_rate)
    with_complement = bought & (rng.random(len(view_session)) < config.complement_share)
    complement_column = rng.choice(3, size=len(view_session), p=[0.5, 0.3, 0.2])
    complement = products.complements[view_product, complement_column]

    parts = [
        (view_session, view_product, VIEW, view_offset),
        (
            view_session[carted],
            view_product[carted],
            ADD_TO_CART,
            view_offset[carted] + rng.uniform(5, 40, size=int(carted.sum())),
        ),
        (
            view_session[bought],
            view_product[bought],
            PURCHASE,
            checkout_offset[view_session[bought]],
        ),
    ]
    c_session = view_session[with_complement]
    c_offset = view_offset[with_complement]
    c_product = complement[with_complement]
    parts += [
        (c_session, c_product, VIEW, c_offset + 50.0),
        (c_session, c_product, ADD_TO_CART, c_offset + 70.0),
        (c_session, c_product, PURCHASE, checkout_offset[c_session] + 1.0),
    ]
    event_session = np.concatenate([p[0] for p in parts])
    event_product = np.concatenate([p[1] for p in parts])
    event_type = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts])
    event_offset = np.concatenate([p[3] for p in parts])
    order = np.lexsort((event_offset, event_session))
    event_session = event_session[order]
    return DemoEvents(
        visitor=visitor[event_session],
        product=event_product[order],
        event_type=event_type[order],
        seconds_before_end=session_start[event_session] - event_offset[order],
        session=event_session + session_offset,
    )


def _other_category(preferred: IntArray, leaves: list[int], rng: np.random.Generator) -> IntArray:
    """A leaf category that is not one of each row's preferred ones."""
    leaf_array = np.asarray(leaves, dtype=np.int64)
    picks = leaf_array[rng.integers(0, len(leaves), size=len(preferred))]
    clash = (picks == preferred[:, 0]) | (picks == preferred[:, 1])
    while clash.any():
        picks[clash] = leaf_array[rng.integers(0, len(leaves), size=int(clash.sum()))]
        clash = (picks == preferred[:, 0]) | (picks == preferred[:, 1])
    return picks


def _reviews(
    config: DemoConfig,
    products: DemoProducts,
    visitors: DemoVisitors,
    events: DemoEvents,
    rng: np.random.Generator,
) -> DemoReviews:
    purchases = np.flatnonzero(events.event_type == PURCHASE)
    reviewed = purchases[rng.random(len(purchases)) < config.review_share]
    visitor = events.visitor[reviewed]
    product = events.product[reviewed]
    # One review per shopper and product: keep the first purchase's.
    _, first = np.unique(visitor * len(products) + product, return_index=True)
    first.sort()
    visitor, product, reviewed = visitor[first], product[first], reviewed[first]

    fit = visitors.taste[visitor, products.style[product]]
    raw = 3.3 + 1.5 * fit + products.quality[product] + rng.normal(0, 0.7, size=len(visitor))
    rating = np.clip(np.round(raw), 1, 5).astype(np.int64)
    delay = rng.uniform(1, 10, size=len(visitor)) * SECONDS_PER_DAY
    purchased = events.seconds_before_end[reviewed]
    seconds_before_end = np.where(purchased > delay, purchased - delay, purchased / 2)
    pick = rng.integers(0, 3, size=len(visitor))
    comments = [REVIEW_COMMENTS[int(r)][int(p)] for r, p in zip(rating, pick, strict=True)]
    return DemoReviews(
        visitor=visitor,
        product=product,
        rating=rating,
        seconds_before_end=seconds_before_end,
        comments=comments,
    )
