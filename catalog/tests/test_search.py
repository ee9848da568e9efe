"""What the search index keeps up with, and that searching a large catalog never reads the
whole product table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from catalog.selectors import product_search
from catalog.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def names(search: str, **filters: Any) -> list[str]:
    return list(product_search(search=search, **filters).values_list("name", flat=True))


def test_the_name_weighs_more_than_the_description_and_all_words_more_than_some():
    ProductFactory.create(name="Copper Pan", description="A chef's favourite.")
    ProductFactory.create(name="Chef Apron", description="Cotton.")
    ProductFactory.create(name="Chef Copper Knife", description="Sharp.")
    assert names("chef") == ["Chef Apron", "Chef Copper Knife", "Copper Pan"]
    assert names("copper chef")[0] == "Chef Copper Knife"


def test_a_parent_categorys_name_finds_its_sub_categories_products():
    tools = CategoryFactory.create(name="Cooking Tools")
    ProductFactory.create(name="Whisk", category=tools)
    tools.parent = CategoryFactory.create(name="Kitchen Corner")
    tools.save()
    assert names("corner") == ["Whisk"]


def test_a_search_naming_a_category_means_that_category():
    toys = CategoryFactory.create(name="Toys & Games")
    ProductFactory.create(name="Chew Toy", description="For dogs.")
    ProductFactory.create(name="Kite", category=toys)
    assert names("toys") == ["Kite", "Chew Toy"]


def test_edits_renames_and_new_products_are_found_at_once():
    garden = CategoryFactory.create(name="Garden")
    rake = ProductFactory.create(name="Rake", category=garden)
    assert names("garden") == ["Rake"]
    garden.name = "Outdoors"
    garden.save()
    assert names("garden") == []
    assert names("outdoors") == ["Rake"]
    rake.name = "Leaf Rake"
    rake.description = "Sturdy tines."
    rake.save()
    assert names("tines") == ["Leaf Rake"]
    rake.delete()
    assert names("rake") == []


def test_plurals_typos_and_filters():
    cheap = ProductFactory.create(name="Blue Teapot", price=Decimal("9.00"))
    ProductFactory.create(name="Green Teapot", price=Decimal("30.00"))
    assert sorted(names("teapots")) == ["Blue Teapot", "Green Teapot"]
    assert sorted(names("tepot")) == ["Blue Teapot", "Green Teapot"]
    assert names("teapot", max_price=Decimal("10")) == [cheap.name]
    assert names("!!!") == []


@pytest.mark.postgres
def test_searching_100000_products_reads_indexes_not_the_table():
    """A realistic catalog: each search matches a few hundred of 100,000 products."""
    kitchen, misc = CategoryFactory.create(name="Kitchen"), CategoryFactory.create(name="Misc")
    nouns = "ARRAY['Mug','Teapot','Saucepan','Colander','Kettle','Whisk','Ladle','Tray']"
    insert = (
        "INSERT INTO catalog_product (external_id, name, slug, description, price, image_url,"
        " category_id, is_active, stock, average_rating, review_count, metadata, created_at,"
        " updated_at) SELECT 'P' || i, {name}, 'p-' || i, 'Made of ' || md5(i::text), 10, '',"
        " %s, true, 5, 0, 0, '{{}}', now(), now() FROM generate_series(%s, %s) AS i"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            insert.format(name="'Widget ' || substr(md5(i::text), 1, 8)"), [misc.pk, 1, 99_200]
        )
        cursor.execute(
            insert.format(name=f"'Item ' || i || ' ' || ({nouns})[1 + i %% 8]"),
            [kitchen.pk, 99_201, 100_000],
        )
        cursor.execute("ANALYZE catalog_product")
    for search in ("teapot", "ladle tray", "kettel", "kitchen"):
        for query in (
            product_search(search=search)[:24],
            product_search(search=search, max_price=Decimal("20"), ordering="price"),
        ):
            plan = query.explain()
            assert "Seq Scan on catalog_product" not in plan, (search, plan)


def test_a_lost_trigger_is_restored_with_the_index_after_migrate():
    """A later migration that rebuilds the product table on SQLite drops its triggers: the
    post-migrate check puts them back and indexes what was written meanwhile."""
    from catalog.search import PRODUCT, search_index_after_migrate

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER {PRODUCT}_search_insert")
        else:
            cursor.execute(f"DROP TRIGGER {PRODUCT}_search_vector ON {PRODUCT}")
    ProductFactory.create(name="Bookends", description="Hand-carved walnut.")
    assert names("carved") == []  # written while the trigger was missing
    search_index_after_migrate(sender=None, using="default")
    assert names("carved") == ["Bookends"]
    ProductFactory.create(name="Coaster", description="Carved oak.")
    assert sorted(names("carved")) == ["Bookends", "Coaster"]
