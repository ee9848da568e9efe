"""Every registered model's admin pages open for staff (catches broken list_display, filters)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse

from catalog.models import AccountCart, Product, SellerProfile
from catalog.services import CheckoutDetails, order_place
from catalog.tests.factories import ProductFactory, ReviewFactory
from recommender.models import (
    EvaluationMetric,
    EvaluationRun,
    Experiment,
    ExperimentVariant,
    PipelineKind,
)
from recommender.services import merchandising_rule_save, merchandising_settings_save
from recommender.tests.factories import (
    BoughtTogetherFactory,
    ContentSimilarityFactory,
    ItemSimilarityFactory,
    PipelineRunFactory,
    TrendingScoreFactory,
)
from tracking.tests.factories import EventFactory, visitor_pk

pytestmark = pytest.mark.django_db

OUR_APPS = {"catalog", "tracking", "recommender"}


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "x"))
    ReviewFactory.create()
    EventFactory.create()
    TrendingScoreFactory.create()
    ItemSimilarityFactory.create()
    ContentSimilarityFactory.create()
    BoughtTogetherFactory.create()
    mug = ProductFactory.create(stock=5)
    order_place(
        checkout_token="t",
        quantities={mug.pk: 1},
        details=CheckoutDetails("Ada", "ada@example.com", "1 Road", "pay_on_delivery"),
        visitor_id=visitor_pk("v"),
        user=None,
    )
    run = EvaluationRun.objects.create(
        pipeline_run=PipelineRunFactory.create(kind=PipelineKind.EVALUATION)
    )
    EvaluationMetric.objects.create(
        run=run, algorithm="tiered", protocol="all", metric="ndcg", k=20, value=0.08
    )
    merchandising_rule_save(changed_by=None, kind="pin", product=mug, position=1)
    merchandising_settings_save(changed_by=None, max_per_category=3)
    seller = SellerProfile.objects.create(
        user=User.objects.create_user("potter"), display_name="Potter", contact_email="p@x.io"
    )
    Product.objects.filter(pk=mug.pk).update(seller=seller)
    AccountCart.objects.create(user=seller.user, data={"cart": {str(mug.pk): 1}})
    experiment = Experiment.objects.create(slug="diversity", hypothesis="Fewer of a kind.")
    ExperimentVariant.objects.create(experiment=experiment, name="control", share=50)
    return client


def registered_models():
    return [model for model in admin.site._registry if model._meta.app_label in OUR_APPS]


def test_every_model_of_ours_is_registered():
    names = {model.__name__ for model in registered_models()}
    assert names == {
        "Category", "Product", "Review", "Visitor", "Event", "TrendingScore",
        "ItemSimilarity", "ContentSimilarity", "PipelineRun", "EvaluationRun", "EvaluationMetric",
        "Order", "BoughtTogether", "MerchandisingRule", "MerchandisingSettings",
        "SellerProfile", "AccountCart", "Experiment",
    }  # fmt: skip


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m.__name__)
def test_admin_pages_open(staff_client, model):
    info = (model._meta.app_label, model._meta.model_name)
    changelist = staff_client.get(reverse("admin:{}_{}_changelist".format(*info)), {"q": "a"})
    assert changelist.status_code == 200
    obj = model.objects.first()
    change = staff_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    assert change.status_code == 200
    add = staff_client.get(reverse("admin:{}_{}_add".format(*info)))
    # Computed tables, orders (placed by checkout only) and a second settings row cannot be
    # added by hand.
    by_hand = {"MerchandisingRule", "SellerProfile", "Experiment"}
    not_by_hand = (
        model._meta.app_label == "recommender" and model.__name__ not in by_hand
    ) or model.__name__ in ("Order", "AccountCart")
    assert add.status_code == (403 if not_by_hand else 200)


def test_computed_tables_are_read_only(staff_client):
    score = TrendingScoreFactory.create()
    url = reverse("admin:recommender_trendingscore_change", args=[score.pk])
    response = staff_client.post(url, {"score": "99"})
    assert response.status_code == 403
    score.refresh_from_db()
    assert score.score == 1.0


def test_a_visitor_s_page_shows_their_latest_events(staff_client):
    event = EventFactory.create()
    page = staff_client.get(
        reverse("admin:tracking_visitor_change", args=[event.visitor_id])
    ).content.decode()
    assert "Latest events" in page
    assert str(event.product) in page
