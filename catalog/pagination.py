"""Paginating product listings and searches, page by page from the cache.

A page of a listing or a search is the ids of its products, the number of matches and the
API's cards, cached under the catalog's generation (any change to a product or category shown
invalidates it) and trending's (the popularity sort): a repeated question reads one cache
entry, never the ranking of every match again. The storefront reads the page's products
themselves by id (their ratings and stock show); the API answers with the cached cards.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator

from catalog.selectors import ProductQuery, product_query_page, products_in_order


class ProductQueryPaginator(Paginator[Any]):
    """Django's Paginator over a product query, reading one page at a time from the cache:
    the storefront's pages get the products (read fresh: their ratings and stock show), the
    API's its cached cards (`cards`)."""

    cards = False

    def __init__(self, query: ProductQuery, per_page: int) -> None:
        super().__init__([], per_page)
        self.query = query
        self._count: int | None = None

    @property
    def count(self) -> int:
        if self._count is None:
            self._count = product_query_page(self.query, number=1, size=self.per_page).count
        return self._count

    def get_page(self, number: Any) -> Page[Any]:
        """The page asked for; the first for anything but a page number, the last for one
        past the end (as a shopper's edited URL deserves)."""
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(max(self.num_pages, 1) if int(number) > 1 else 1)

    def page(self, number: Any) -> Page[Any]:
        try:
            wanted = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if wanted < 1:
            raise EmptyPage("That page number is less than 1")
        # Past the last page (the first page's entry knows the count): asked of the database,
        # a page number in the billions would overflow its OFFSET.
        if wanted > 1 and wanted > self.num_pages:
            raise EmptyPage("That page contains no results")
        found = product_query_page(self.query, number=wanted, size=self.per_page)
        self._count = found.count
        if not found.ids and wanted > 1:
            raise EmptyPage("That page contains no results")
        if self.cards:
            return Page(found.cards, wanted, self)
        return Page(products_in_order(found.ids), wanted, self)


class ProductCardPaginator(ProductQueryPaginator):
    cards = True
