from __future__ import annotations

import pytest
from django.db import connection

from catalog.models import Product
from catalog.querysets import browsable_q, browsable_sql, is_browsable
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_the_browsable_rule_reads_alike_as_a_query_on_a_product_and_in_sql():
    products = [
        ProductFactory.create(is_active=active, stock=stock)
        for active in (True, False)
        for stock in (0, 1, 7)
    ]
    shown = {p.pk for p in products if p.is_active and p.stock > 0}
    assert len(shown) == 2

    by_query = set(Product.objects.filter(browsable_q()).values_list("pk", flat=True))
    by_product = {p.pk for p in products if p.browsable}
    by_columns = {p.pk for p in products if is_browsable(is_active=p.is_active, stock=p.stock)}
    table = connection.ops.quote_name(Product._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id FROM {table} p WHERE {browsable_sql('p')}")  # noqa: S608
        by_sql = {row[0] for row in cursor.fetchall()}

    assert by_query == by_product == by_columns == by_sql == shown
    assert set(Product.objects.browsable().values_list("pk", flat=True)) == shown
