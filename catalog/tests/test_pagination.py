from __future__ import annotations

import pytest

from catalog.models import Product
from catalog.pagination import CountedWithPagePaginator
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products():
    ProductFactory.create_batch(7)
    return Product.objects.order_by("id")


def test_the_page_and_the_count_come_from_one_query(products, django_assert_num_queries):
    ids = list(products.values_list("pk", flat=True))
    with django_assert_num_queries(1):
        page = CountedWithPagePaginator(products, 3).get_page("2")
        assert [p.pk for p in page] == ids[3:6]
        assert (page.paginator.count, page.paginator.num_pages, page.number) == (7, 3, 2)
        assert page.has_next()


@pytest.mark.parametrize(("asked", "shown"), [("9", 3), ("0", 1), ("-4", 1), ("two", 1), (None, 1)])
def test_pages_out_of_range_or_not_numbers_show_the_last_or_the_first(products, asked, shown):
    page = CountedWithPagePaginator(products, 3).get_page(asked)
    assert (page.number, page.paginator.count) == (shown, 7)
    assert len(page) == (1 if shown == 3 else 3)


def test_nothing_found_is_one_empty_page():
    page = CountedWithPagePaginator(Product.objects.none(), 3).get_page("1")
    assert (page.number, page.paginator.count, list(page)) == (1, 0, [])
