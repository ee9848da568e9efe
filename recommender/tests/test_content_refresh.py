"""A new or re-described product gets its content neighbours at once (not at night), and
appears among the similar products of those described alike."""

from __future__ import annotations

from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from catalog.models import SellerProfile
from catalog.services import seller_product_save
from catalog.tests.factories import CategoryFactory, ProductFactory
from recommender import pipelines, tasks
from recommender.models import ContentSimilarity, PipelineKind, PipelineRun, PipelineStatus
from tracking.tests.factories import role_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog_with_content():
    kitchen = CategoryFactory.create(name="Kitchen")
    garden = CategoryFactory.create(name="Garden")
    products = {
        name: ProductFactory.create(name=name, description=text, category=category)
        for name, text, category in (
            ("Brown teapot", "Glazed stoneware teapot for loose leaf tea", kitchen),
            ("Tea cup", "Porcelain cup for tea", kitchen),
            ("Garden hose", "Twenty metres of rubber hose", garden),
            ("Watering can", "Galvanised can for the garden", garden),
        )
    }
    pipelines.content_compute()
    seller = SellerProfile.objects.create(
        user=role_member("Seller", username="potter"), display_name="Potter", contact_email="p@x.io"
    )
    return {"kitchen": kitchen, "seller": seller, **products}


def similar_names(product_id: int) -> list[str]:
    answer = APIClient().get(f"/api/products/{product_id}/similar", {"k": 10})
    return [item["product"]["name"] for item in answer.json()["items"]]


def neighbour_names(product_id: int) -> list[str]:
    rows = ContentSimilarity.objects.filter(product_id=product_id).order_by("-score")
    return list(rows.values_list("similar_product__name", flat=True))


def test_a_sellers_new_product_has_neighbours_and_is_shown_beside_its_likes(
    catalog_with_content, committed, eager_celery
):
    with committed():
        kettle = seller_product_save(
            seller=catalog_with_content["seller"],
            name="Stoneware tea kettle",
            description="Glazed stoneware kettle for tea",
            price=Decimal("30.00"),
            stock=3,
            category=catalog_with_content["kitchen"],
        )
    assert neighbour_names(kettle.pk)[:2] == ["Brown teapot", "Tea cup"]
    assert "Stoneware tea kettle" in similar_names(catalog_with_content["Brown teapot"].pk)
    assert "Stoneware tea kettle" in similar_names(catalog_with_content["Tea cup"].pk)
    assert "Stoneware tea kettle" not in similar_names(catalog_with_content["Garden hose"].pk)
    run = PipelineRun.objects.filter(kind=PipelineKind.CONTENT).latest("id")
    assert (run.status, run.parameters["products"]) == (PipelineStatus.SUCCEEDED, [kettle.pk])


def test_a_re_described_product_moves_to_its_new_likes(
    catalog_with_content, committed, eager_celery
):
    can = catalog_with_content["Watering can"]
    can.seller = catalog_with_content["seller"]
    can.save()
    with committed():
        seller_product_save(
            seller=catalog_with_content["seller"],
            product=can,
            name="Tea caddy",
            description="Tin caddy for loose leaf tea",
            category=catalog_with_content["kitchen"],
        )
    assert "Garden hose" not in neighbour_names(can.pk)
    assert neighbour_names(can.pk)[0] == "Brown teapot"
    assert "Tea caddy" not in neighbour_names(catalog_with_content["Garden hose"].pk)


def test_a_restock_alone_recomputes_nothing(catalog_with_content, committed, eager_celery):
    kettle = ProductFactory.create(seller=catalog_with_content["seller"], name="Kettle")
    runs = PipelineRun.objects.count()
    with committed():
        seller_product_save(seller=catalog_with_content["seller"], product=kettle, stock=40)
    assert PipelineRun.objects.count() == runs


def test_a_product_added_in_the_admin_gets_neighbours(
    catalog_with_content, committed, eager_celery
):
    staff = Client()
    staff.force_login(User.objects.create_superuser("admin", "a@x.io", "pw"))
    form = {
        "name": "Stoneware tea kettle",
        "slug": "stoneware-tea-kettle",
        "description": "Glazed stoneware kettle for tea",
        "price": "30.00",
        "category": catalog_with_content["kitchen"].pk,
        "stock": 3,
        "is_active": "on",
        "metadata": "{}",
        "reviews-TOTAL_FORMS": 0,
        "reviews-INITIAL_FORMS": 0,
    }
    with committed():
        answer = staff.post("/admin/catalog/product/add/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert "Stoneware tea kettle" in similar_names(catalog_with_content["Brown teapot"].pk)


def test_a_refresh_waits_for_a_running_content_run_instead_of_being_lost(catalog_with_content):
    running = pipelines.pipeline_run_claim(kind=PipelineKind.CONTENT, parameters={})
    try:
        with pytest.raises(Retry):
            tasks.refresh_content.apply(
                kwargs={"product_ids": [catalog_with_content["Tea cup"].pk]}, throw=True
            )
    finally:
        pipelines.pipeline_run_release(running)
