from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Product
from catalog.pagination import ProductQueryPaginator
from catalog.selectors import ProductQuery
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mugs() -> list[int]:
    """Seven mugs, cheapest first."""
    return [ProductFactory.create(name=f"Mug {i}", price=Decimal(10 + i)).pk for i in range(7)]


CHEAPEST_MUGS = ProductQuery(search="mug", ordering="price")


def test_a_page_and_the_count(mugs):
    page = ProductQueryPaginator(CHEAPEST_MUGS, 3).get_page("2")
    assert [p.pk for p in page] == mugs[3:6]
    assert (page.paginator.count, page.paginator.num_pages, page.number) == (7, 3, 2)
    assert page.has_next()


def test_a_page_read_again_is_one_query_for_its_products(mugs, django_assert_num_queries):
    ProductQueryPaginator(CHEAPEST_MUGS, 3).get_page("2")
    with django_assert_num_queries(1):  # the products by id: never the ranking again
        page = ProductQueryPaginator(ProductQuery(search=" MUG ", ordering="price"), 3).get_page(2)
        assert [p.pk for p in page] == mugs[3:6]


def test_a_changed_product_is_seen_at_once(mugs, django_capture_on_commit_callbacks):
    ProductQueryPaginator(CHEAPEST_MUGS, 3).get_page("1")
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.filter(pk=mugs[0]).first().delete()  # type: ignore[union-attr]
        cheap = ProductFactory.create(name="Cheap Mug", price=Decimal("1.00"))
    page = ProductQueryPaginator(CHEAPEST_MUGS, 3).get_page("1")
    assert [p.pk for p in page] == [cheap.pk, *mugs[1:3]]


@pytest.mark.parametrize(("asked", "shown"), [("9", 3), ("0", 1), ("-4", 1), ("two", 1), (None, 1)])
def test_pages_out_of_range_or_not_numbers_show_the_last_or_the_first(mugs, asked, shown):
    page = ProductQueryPaginator(CHEAPEST_MUGS, 3).get_page(asked)
    assert (page.number, page.paginator.count) == (shown, 7)
    assert len(page) == (1 if shown == 3 else 3)


def test_nothing_found_is_one_empty_page(mugs):
    page = ProductQueryPaginator(ProductQuery(search="teapot"), 3).get_page("1")
    assert (page.number, page.paginator.count, list(page)) == (1, 0, [])


def test_a_listing_without_search_by_name(mugs):
    page = ProductQueryPaginator(ProductQuery(), 5).get_page("2")
    assert [p.name for p in page] == ["Mug 5", "Mug 6"]
