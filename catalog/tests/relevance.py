"""The search relevance set: queries a shopper types on the demo store, each with what it must
find, and the figures docs/benchmarks.md reports (MRR, complete first pages). Used by
test_search_relevance.py on both databases and by `make bench-search`.

A query's relevant products are the browsable ones whose name contains every one of `name`'s
words (case-insensitive), or whose category is `category`. Its first page (24 results, as the
shop shows) must hold every relevant product, or be all relevant when there are more.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

from django.db.models import Q

from catalog.models import Product
from catalog.selectors import product_search

PAGE = 24


@dataclass(frozen=True)
class Query:
    text: str
    kind: str
    name: str = ""
    category: str = ""


def q(text: str, kind: str, *, name: str = "", category: str = "") -> Query:
    return Query(text, kind, name or ("" if category else text), category)


QUERIES: tuple[Query, ...] = (
    # Single words: a product's noun.
    *(
        q(word, "word")
        for word in (
            "mug", "teapot", "saucepan", "colander", "keyboard", "webcam",
            "headphones", "atlas", "trowel", "kite", "beanie", "collar",
        )
    ),
    # Plural forms of a noun.
    q("mugs", "plural", name="mug"),
    q("teapots", "plural", name="teapot"),
    q("cushions", "plural", name="cushion"),
    q("notebooks", "plural", name="notebook"),
    q("lanterns", "plural", name="lantern"),
    q("candles", "plural", name="candle"),
    q("kites", "plural", name="kite"),
    q("jumpers", "plural", name="jumper"),
    # Two-word phrases, in order and not.
    q("chef knife", "phrase", name="chef's knife"),
    q("wireless earbuds", "phrase"),
    q("earbuds wireless", "phrase", name="wireless earbuds"),
    q("cutting board", "phrase"),
    q("bluetooth speaker", "phrase"),
    q("yoga mat", "phrase"),
    q("board game", "phrase"),
    q("water bottle", "phrase"),
    q("hand cream", "phrase"),
    q("photo frame", "phrase"),
    # Category names, whole or in part.
    q("kitchen", "category", category="Kitchen"),
    q("electronics", "category", category="Electronics"),
    q("books", "category", category="Books"),
    q("garden", "category", category="Garden"),
    q("beauty", "category", category="Beauty"),
    q("clothing", "category", category="Clothing"),
    q("pet supplies", "category", category="Pet Supplies"),
    q("home decor", "category", category="Home Decor"),
    q("sports", "category", category="Sports & Outdoors"),
    q("toys", "category", category="Toys & Games"),
    # Misspellings.
    q("hedphones", "typo", name="headphones"),
    q("tepot", "typo", name="teapot"),
    q("keybaord", "typo", name="keyboard"),
    q("sacepan", "typo", name="saucepan"),
    q("bluetoth speaker", "typo", name="bluetooth speaker"),
    q("colandr", "typo", name="colander"),
    q("notebok", "typo", name="notebook"),
    q("webcma", "typo", name="webcam"),
    # Materials.
    q("bamboo", "material"),
    q("linen", "material"),
    q("stainless steel", "material"),
    q("cast iron", "material"),
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    query: Query
    relevant: int
    # Rank (1-based) of the first relevant result, None if none is found.
    first_relevant: int | None
    complete_first_page: bool


def relevant_ids(query: Query) -> set[int]:
    products = Product.objects.browsable()
    if query.category:
        products = products.filter(category__name=query.category)
    else:
        condition = Q()
        for word in query.name.split():
            condition &= Q(name__icontains=word)
        products = products.filter(condition)
    return set(products.values_list("id", flat=True))


def outcome(query: Query) -> Outcome:
    relevant = relevant_ids(query)
    ranked = list(product_search(search=query.text).values_list("id", flat=True)[:200])
    first = next((rank for rank, pk in enumerate(ranked, 1) if pk in relevant), None)
    page = ranked[:PAGE]
    wanted = min(len(relevant), PAGE)
    complete = sum(pk in relevant for pk in page) >= wanted
    return Outcome(query, len(relevant), first, complete and wanted > 0)


def figures(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    """MRR and the share of complete first pages, overall and per kind of query."""
    kinds = sorted({o.query.kind for o in outcomes})
    rows = {"all": outcomes}
    rows |= {kind: [o for o in outcomes if o.query.kind == kind] for kind in kinds}
    return {
        name: {
            "queries": len(group),
            "mrr": fmean(1 / o.first_relevant if o.first_relevant else 0.0 for o in group),
            "complete_first_page": fmean(float(o.complete_first_page) for o in group),
        }
        for name, group in rows.items()
    }
