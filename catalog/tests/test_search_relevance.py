"""Search finds what a shopper means on the demo store, on SQLite and on PostgreSQL: the
relevance set of catalog/tests/relevance.py (single words, plurals, phrases, category names,
misspellings, materials)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from catalog.tests.relevance import QUERIES, figures, outcome

pytestmark = pytest.mark.django_db


def test_every_query_of_the_relevance_set_finds_its_products_on_the_first_page():
    call_command("seed_demo", "--events", "2000", verbosity=0)
    outcomes = [outcome(query) for query in QUERIES]
    assert len(outcomes) >= 40
    assert all(o.relevant for o in outcomes), [o.query.text for o in outcomes if not o.relevant]
    failed = {o.query.text: o.first_relevant for o in outcomes if not o.complete_first_page}
    assert failed == {}
    summary = figures(outcomes)["all"]
    assert summary["mrr"] >= 0.95
