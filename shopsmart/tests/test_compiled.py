from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Q, QuerySet

from catalog.tests.factories import ProductFactory
from shopsmart.compiled import CompiledRead
from tracking.models import Event, Visitor
from tracking.tests.factories import EventFactory, VisitorFactory

pytestmark = pytest.mark.django_db


class CountingBuild:
    """A read's QuerySet builder that counts how often it is asked to build."""

    def __init__(self, build: Any) -> None:
        self.build = build
        self.calls = 0

    def __call__(self, **values: Any) -> QuerySet[Any]:
        self.calls += 1
        queryset: QuerySet[Any] = self.build(**values)
        return queryset


def latest_products(visitor: str, length: int) -> QuerySet[Any]:
    return Event.objects.latest_of(visitor).values_list("product_id", "occurred_at")[:length]


@pytest.mark.postgres
def test_a_read_is_compiled_once_and_answers_as_its_queryset_for_every_value() -> None:
    visitors = VisitorFactory.create_batch(3)
    for visitor in visitors:
        EventFactory.create_batch(4, visitor=visitor)
    build = CountingBuild(latest_products)
    read = CompiledRead(build, params=("visitor",))

    for visitor in [*visitors, *visitors]:
        expected = list(latest_products(visitor.external_id, 3))
        assert read.rows(visitor=visitor.external_id, length=3) == expected
        assert len(expected) == 3

    assert build.calls == 1
    assert read.rows(visitor="nobody", length=3) == []


@pytest.mark.postgres
def test_each_fixed_value_compiles_its_own_sql() -> None:
    visitor = VisitorFactory.create()
    EventFactory.create_batch(5, visitor=visitor)
    build = CountingBuild(latest_products)
    read = CompiledRead(build, params=("visitor",))

    assert len(read.rows(visitor=visitor.external_id, length=2)) == 2
    assert len(read.rows(visitor=visitor.external_id, length=4)) == 4
    assert len(read.rows(visitor=visitor.external_id, length=2)) == 2
    assert build.calls == 2


@pytest.mark.postgres
def test_a_list_parameter_is_sent_as_one_array() -> None:
    products = ProductFactory.create_batch(4)
    build = CountingBuild(
        lambda ids: (
            type(products[0])
            .objects.filter(pk__any=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    )
    read = CompiledRead(build, params=("ids",))

    assert read.rows(ids=[products[0].pk, products[2].pk]) == [
        (products[0].pk,),
        (products[2].pk,),
    ]
    assert read.rows(ids=[p.pk for p in products]) == [(p.pk,) for p in products]
    assert build.calls == 1


@pytest.mark.postgres
def test_a_parameter_used_twice_is_substituted_in_both_places() -> None:
    alice, bob = VisitorFactory.create(external_id="alice"), VisitorFactory.create()
    EventFactory.create_batch(2, visitor=alice)
    EventFactory.create_batch(3, visitor=bob)
    build = CountingBuild(
        lambda visitor: latest_products(visitor, 10).union(latest_products(visitor, 1), all=True)
    )
    read = CompiledRead(build, params=("visitor",))

    assert len(read.rows(visitor="alice")) == 3
    assert len(read.rows(visitor=bob.external_id)) == 4
    assert build.calls == 1


@pytest.mark.postgres
def test_a_parameter_transformed_by_a_lookup_runs_its_queryset_on_every_call() -> None:
    alice = VisitorFactory.create(external_id="alice")
    VisitorFactory.create(external_id="bob")
    build = CountingBuild(
        lambda name: (
            Visitor.objects.filter(Q(external_id=name) | Q(external_id__startswith=name))
            .order_by()
            .values_list("pk")
        )
    )
    read = CompiledRead(build, params=("name",))

    assert read.rows(name="alice") == [(alice.pk,)]
    assert read.rows(name="carol") == []
    assert build.calls == 3  # compiled in vain once, then built for each call


@pytest.mark.postgres
def test_only_strings_and_lists_can_be_substituted() -> None:
    read = CompiledRead(lambda pk: Visitor.objects.filter(pk=pk).values_list("pk"), params=("pk",))

    with pytest.raises(TypeError, match="only str and list"):
        read.rows(pk=1)
