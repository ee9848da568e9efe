from __future__ import annotations

import pytest

from catalog.selectors import product_ids_named
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_products_are_found_by_id_or_external_id_and_unknown_ones_are_left_out():
    mug = ProductFactory.create(external_id="85123A")
    lamp = ProductFactory.create(external_id=None)
    unknown_id = max(mug.pk, lamp.pk) + 1
    assert product_ids_named([mug.pk, "85123A", lamp.pk, "NOPE", unknown_id]) == {
        mug.pk: mug.pk,
        "85123A": mug.pk,
        lamp.pk: lamp.pk,
    }
    # Only one kind of reference (the other's list is empty), or none at all.
    assert product_ids_named([lamp.pk]) == {lamp.pk: lamp.pk}
    assert product_ids_named(["85123A"]) == {"85123A": mug.pk, mug.pk: mug.pk}
    assert product_ids_named([]) == {}
