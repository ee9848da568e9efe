"""Paginating a search: the page and the number of matches from one query."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window


class CountedWithPagePaginator(Paginator[Any]):
    """Reads the total with the page itself (COUNT(*) OVER ()): one pass over the matches
    instead of two. For queries that read every match anyway to order them (a fuzzy search);
    a listing read in index order would lose its LIMIT. A page past the end falls back to a
    plain count and shows the last page, as Paginator.get_page does."""

    def __init__(self, object_list: QuerySet[Any], per_page: int) -> None:
        super().__init__(object_list.annotate(matches=Window(Count("pk"))), per_page)

    def get_page(self, number: Any) -> Page[Any]:
        try:
            wanted = max(int(number), 1)
        except (TypeError, ValueError):
            wanted = 1
        first = (wanted - 1) * self.per_page
        rows = list(self.object_list[first : first + self.per_page])
        if not rows:
            return super().get_page(wanted)
        self.__dict__["count"] = rows[0].matches  # Paginator.count is a cached property
        return Page(rows, wanted, self)
