"""Reads of the catalog: named, prefetching queries that views and the API share."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, TextChoices, Window
from django.shortcuts import get_object_or_404

from catalog.models import (
    Category,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Review,
    SellerProfile,
    product_path,
)
from catalog.popularity import popularity_score
from catalog.querysets import browsable_sql
from catalog.search import products_matching
from infrastructure import cache, sql


def category_list() -> QuerySet[Category]:
    return Category.objects.select_related("parent").order_by("name")


def category_with_descendant_ids(*, category: Category) -> list[int]:
    """The category's id and those of all its sub-categories, at any depth."""
    parents = {category.pk}
    ids = [category.pk]
    while parents:
        children = list(Category.objects.filter(parent_id__in=parents).values_list("id", flat=True))
        parents = set(children) - set(ids)
        ids.extend(parents)
    return ids


def product_list(*, category: Category | None = None) -> QuerySet[Product]:
    products = Product.objects.browsable()
    if category is not None:
        products = products.filter(category_id__in=category_with_descendant_ids(category=category))
    return products


def product_newest(*, limit: int) -> QuerySet[Product]:
    return product_list().order_by("-created_at", "-id")[:limit]


def product_detail(*, pk: int) -> Product:
    """An active product with its category and its 20 latest reviews (`recent_reviews`)."""
    product: Product = get_object_or_404(Product.objects.active().with_category(), pk=pk)
    # A plain LIMIT query: a prefetch with a slice would rank every review in a window.
    product.recent_reviews = list(  # type: ignore[attr-defined]
        Review.objects.filter(product=product)
        .select_related("user")
        .order_by("-created_at", "-id")[:20]
    )
    return product


class CategoryCard(TypedDict):
    id: int
    name: str
    slug: str


class ProductCard(TypedDict):
    """A product as every API list shows it (and the pages' recommendation widgets)."""

    id: int
    external_id: str | None
    name: str
    price: str
    url: str
    image_url: str
    category: CategoryCard


def absolute_url(path: str) -> str:
    """Site-relative paths prefixed with SITE_URL; URLs elsewhere are kept as they are."""
    return f"{settings.SITE_URL}{path}" if path.startswith("/") else path


def product_card(product: Product) -> ProductCard:
    """The product's card; its category must have been fetched with it."""
    category = product.category
    return _card(
        product.pk,
        product.external_id,
        product.name,
        product.slug,
        product.price,
        product.image_url,
        category.pk,
        category.name,
        category.slug,
    )


def _card(
    pk: int,
    external_id: str | None,
    name: str,
    slug: str,
    # Decimal, or a float where the database driver has no decimal type (SQLite): both format
    # a two-place price exactly.
    price: Decimal | float,
    image_url: str,
    category_id: int,
    category_name: str,
    category_slug: str,
) -> ProductCard:
    """A card from the columns _card_rows_sql reads, in their order."""
    return {
        "id": pk,
        "external_id": external_id,
        "name": name,
        "price": f"{price:.2f}",
        "url": absolute_url(product_path(pk, slug)),
        "image_url": absolute_url(image_url),
        "category": {"id": category_id, "name": category_name, "slug": category_slug},
    }


def product_cards(product_ids: Iterable[int]) -> dict[int, ProductCard]:
    """The cards of the given products (one query), by id; unknown ids are left out."""
    return product_cards_available(product_ids)[0]


def product_cards_available(product_ids: Iterable[int]) -> tuple[dict[int, ProductCard], set[int]]:
    """The cards of the given products by id, and which of them a shopper may be shown now
    (active and in stock); unknown ids are left out.

    Every recommendation computed on a cache miss makes this read. Inside the computation of
    a cached list the worker keeps each card under the catalog's generation, which the list's
    lookup has just read (infrastructure.cache.kept_many): a card, and whether it can be
    bought, is then as fresh as the list itself, and the database is read only for the cards
    not kept yet. Plain SQL: building the equivalent QuerySet costs more than PostgreSQL
    takes to answer it.
    """
    ids = list(product_ids)
    cards: dict[int, ProductCard] = {}
    available: set[int] = set()
    # One pass: a list's computation asks for hundreds of candidates.
    for pk, kept in zip(ids, cache.kept_many("card", ids, compute=_card_rows), strict=True):
        if kept is not None:
            cards[pk] = kept[0]
            if kept[1]:
                available.add(pk)
    return cards, available


def _card_rows(ids: list[int]) -> list[tuple[ProductCard, bool] | None]:
    """Each product's card and whether it is browsable, in the order of `ids` (one query;
    None for an unknown id)."""
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(_card_rows_sql(), {"ids": sql.id_list(ids)})
        for *card, browsable in cursor.fetchall():
            found[card[0]] = (_card(*card), bool(browsable))
    return [found.get(pk) for pk in ids]


def _card_rows_sql() -> str:
    """A card's columns, in _card's order, and whether the product is browsable, of the
    products whose ids are the `ids` parameter."""
    return (
        "SELECT p.id, p.external_id, p.name, p.slug, p.price, p.image_url, "  # noqa: S608
        f"c.id, c.name, c.slug, {browsable_sql('p')} "
        f"FROM {sql.table(Product)} p JOIN {sql.table(Category)} c ON c.id = p.category_id "
        f"WHERE {sql.in_ids('p.id', 'ids')}"
    )


def product_ids_named(references: Iterable[int | str]) -> dict[int | str, int]:
    """The product id of each reference (an id, or an external id) that names an existing
    product. Plain SQL, one statement: every event posted makes this read, and building the
    equivalent QuerySet cost more than PostgreSQL takes to answer it."""
    wanted = list(references)
    ids = [r for r in wanted if isinstance(r, int)]
    external_ids = [r for r in wanted if isinstance(r, str)]
    statement = (
        f"SELECT p.id, p.external_id FROM {sql.table(Product)} p "  # noqa: S608
        f"WHERE {sql.in_ids('p.id', 'ids')} OR {sql.in_ids('p.external_id', 'external_ids')}"
    )
    found: dict[int | str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            statement, {"ids": sql.id_list(ids), "external_ids": sql.id_list(external_ids)}
        )
        for pk, external_id in cursor.fetchall():
            found[pk] = pk
            if external_id is not None:
                found[external_id] = pk
    return found


def products_available_categories(*, among: Iterable[int]) -> dict[int, int]:
    """The category of each of the products a shopper may be shown now, by product id (read
    with their cards, so a cached list's computation finds them kept by the worker)."""
    cards, available = product_cards_available(among)
    return {pk: cards[pk]["category"]["id"] for pk in available}


def product_table() -> tuple[list[int], list[int], list[float]]:
    """Every product's id (ascending), category and price (merchandising's targets)."""
    rows = Product.objects.order_by("id").values_list("id", "category_id", "price")
    ids, categories, prices = [], [], []
    for pk, category, price in rows.iterator(chunk_size=10_000):
        ids.append(pk)
        categories.append(category)
        prices.append(float(price))
    return ids, categories, prices


def category_subtrees() -> dict[int, frozenset[int]]:
    """Every category's id with its sub-categories' ids, at any depth, from one read."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.order_by().values_list("id", "parent_id"):
        children.setdefault(parent, []).append(pk)
    subtrees: dict[int, frozenset[int]] = {}

    def walk(pk: int) -> frozenset[int]:
        if pk not in subtrees:
            subtrees[pk] = frozenset([pk]).union(*(walk(c) for c in children.get(pk, [])))
        return subtrees[pk]

    for pk in [pk for ids in children.values() for pk in ids]:
        walk(pk)
    return subtrees


class ProductOrdering(TextChoices):
    PRICE = "price", "Price, lowest first"
    PRICE_DESCENDING = "-price", "Price, highest first"
    NEWEST = "newest", "Newest first"
    RATING = "rating", "Best rated first"
    POPULARITY = "popularity", "Most popular first"
    RELEVANCE = "relevance", "Best match first (with a search)"


ORDER_BY: dict[str, tuple[str, ...]] = {
    ProductOrdering.PRICE: ("price", "id"),
    ProductOrdering.PRICE_DESCENDING: ("-price", "id"),
    ProductOrdering.NEWEST: ("-created_at", "-id"),
    ProductOrdering.RATING: ("-average_rating", "-review_count", "id"),
}


def product_search(
    *,
    search: str = "",
    category: Category | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    ordering: str | None = None,
) -> QuerySet[Product]:
    """Browsable products matching the filters. The search is full text over name, category
    and description, forgiving typos (catalog.search); without an ordering, searches come best
    match first and listings by name."""
    products = product_list(category=category)
    if min_price is not None:
        products = products.filter(price__gte=min_price)
    if max_price is not None:
        products = products.filter(price__lte=max_price)
    search = search.strip()
    if search:
        products = products_matching(products, search)
    if ordering in ORDER_BY:
        return products.order_by(*ORDER_BY[ordering])
    if ordering == ProductOrdering.POPULARITY:
        # Never-seen products last.
        return products.annotate(popularity=popularity_score()).order_by(
            F("popularity").desc(nulls_last=True), "name", "id"
        )
    if search:
        return products.order_by("-relevance", "name", "id")
    return products.order_by("name", "id")


@dataclass(frozen=True)
class ProductQuery:
    """What a listing or search asks for (product_search's filters)."""

    search: str = ""
    category: Category | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    ordering: str | None = None

    def cache_key(self) -> str:
        """The same for the same question: the search's words, the filters."""
        parts = [
            " ".join(self.search.lower().split()),
            str(self.category.pk if self.category else "-"),
            str(self.min_price if self.min_price is not None else "-"),
            str(self.max_price if self.max_price is not None else "-"),
            self.ordering or "-",
        ]
        # Searches are free text of any length: the key holds a digest of the question.
        return hashlib.blake2b("\x00".join(parts).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class QueryPage:
    ids: list[int]
    count: int
    # The API's cards of the page (name, price, image, category: what the catalog's
    # generation covers), in order.
    cards: list[ProductCard]


def product_query_page(query: ProductQuery, *, number: int, size: int) -> QueryPage:
    """The ids of one page of the query's products, in order, and how many match in all
    (cached: see catalog.pagination)."""
    return cache.cached(
        cache.SEARCH,
        query.cache_key(),
        number,
        size,
        timeout=settings.CACHE_TTL_SEARCH,
        compute=lambda: _query_page(query, number, size),
        depends_on=(cache.TRENDING,),
    )


def _query_page(query: ProductQuery, number: int, size: int) -> QueryPage:
    products = product_search(
        search=query.search,
        category=query.category,
        min_price=query.min_price,
        max_price=query.max_price,
        ordering=query.ordering,
    )
    first = (number - 1) * size
    if query.search.strip():
        # A search reads every match to rank them: it counts them in the same pass.
        rows: list[tuple[int, int]] = list(
            products.annotate(matches=Window(Count("pk"))).values_list("pk", "matches")[
                first : first + size
            ]
        )
        ids = [pk for pk, _ in rows]
        count = rows[0][1] if rows else products.count()
    else:
        # A listing is read in index order: a count over the window would lose its LIMIT.
        ids = list(products.values_list("pk", flat=True)[first : first + size])
        count = products.count()
    cards = product_cards(ids)
    return QueryPage(ids, count, [cards[pk] for pk in ids if pk in cards])


def products_in_order(ids: list[int]) -> list[Product]:
    """The products with these ids that a shopper may be shown now, in the given order (one
    query): a page cached before one sold out shows one product fewer until it is recomputed."""
    found = {product.pk: product for product in Product.objects.browsable().filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


class CategoryNode(TypedDict):
    id: int
    name: str
    slug: str
    children: list[CategoryNode]


def category_tree() -> list[CategoryNode]:
    """Every category as a tree of nested children, by name (one query)."""
    nodes: dict[int, CategoryNode] = {}
    parents: dict[int, int | None] = {}
    for category in Category.objects.order_by("name", "id"):
        nodes[category.pk] = {
            "id": category.pk,
            "name": category.name,
            "slug": category.slug,
            "children": [],
        }
        parents[category.pk] = category.parent_id
    roots: list[CategoryNode] = []
    for pk, node in nodes.items():
        parent = parents[pk]
        (nodes[parent]["children"] if parent in nodes else roots).append(node)
    return roots


def category_by_id_or_slug(value: str) -> Category | None:
    lookup = Q(pk=int(value)) if value.isdecimal() else Q(slug=value)
    return Category.objects.filter(lookup).first()


def order_visible(*, number: str, user: User | AnonymousUser, placed_here: Iterable[str]) -> Order:
    """The order with this number, if the one asking may see it: its account's owner, or the
    browser session that placed it; 404 otherwise (so numbers reveal nothing)."""
    mine = Q(number__in=list(placed_here))
    if user.is_authenticated:
        mine |= Q(user=user)
    order: Order = get_object_or_404(_orders_with_lines().filter(mine), number=number)
    return order


def order_history(*, user: User) -> QuerySet[Order]:
    """The account's orders, newest first, with their lines."""
    return _orders_with_lines().filter(user=user)


def _orders_with_lines() -> QuerySet[Order]:
    return Order.objects.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product"))
    )


def seller_products(*, seller: SellerProfile) -> QuerySet[Product]:
    """The seller's own products, withdrawn ones included, newest first."""
    return (
        Product.objects.filter(seller=seller)
        .select_related("category")
        .order_by("-created_at", "-id")
    )


def seller_order_lines(*, seller: SellerProfile) -> QuerySet[OrderLine]:
    """The lines of the seller's own products in every order, newest order first, with the
    order they belong to. Other sellers' lines of the same orders are not among them."""
    return (
        OrderLine.objects.filter(product__seller=seller)
        .select_related("order")
        .order_by("-order__created_at", "-order_id", "id")
    )


@dataclass(frozen=True)
class ProductSales:
    units: int
    revenue: Decimal
    orders: int


def seller_sales(*, seller: SellerProfile, since: datetime) -> dict[int, ProductSales]:
    """Per product of the seller: units sold, revenue and orders since `since`, by the
    prices sold at; cancelled orders do not count."""
    rows = (
        OrderLine.objects.filter(product__seller=seller, order__created_at__gte=since)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values("product_id")
        .annotate(
            units=Sum("quantity"),
            revenue=Sum(F("unit_price") * F("quantity")),
            orders=Count("order_id", distinct=True),
        )
        .order_by()
    )
    return {
        row["product_id"]: ProductSales(
            units=row["units"], revenue=Decimal(row["revenue"]), orders=row["orders"]
        )
        for row in rows
    }
