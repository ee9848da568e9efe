from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Order
from catalog.tests.factories import ProductFactory
from catalog.tests.test_checkout import checkout_token, fill_cart, place
from tracking.models import Event, EventType, Visitor
from tracking.tests.factories import EventFactory, UserFactory, VisitorFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def visitor_cookie(client: Client) -> str:
    return client.cookies[settings.VISITOR_COOKIE_NAME].value


def sign_in(client: Client, user: User):
    return client.post(reverse("login"), {"username": user.username, "password": PASSWORD})


def test_signing_up_creates_the_account_signs_in_and_adopts_the_browser_s_history(client):
    mug = ProductFactory.create()
    client.get(mug.get_absolute_url())
    browser = visitor_cookie(client)
    response = client.post(
        reverse("signup"),
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response["Location"] == reverse("account")
    user = User.objects.get(username="ada")
    visitor = Visitor.objects.get(external_id=browser)
    assert visitor.user == user
    assert not visitor.is_anonymous
    assert client.get(reverse("account")).status_code == 200


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password2": "something else"}, "The two password fields didn"),
        ({"password1": "123", "password2": "123"}, "This password is too short."),
        ({"email": "nope"}, "Enter a valid email address."),
        ({"username": ""}, "This field is required."),
    ],
)
def test_a_bad_signup_says_why_and_creates_nothing(client, changes, message):
    data = {"username": "ada", "email": "ada@example.com", "password1": PASSWORD}
    data |= {"password2": data["password1"]} | changes
    response = client.post(reverse("signup"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_an_email_already_used_is_refused(client):
    UserFactory.create(email="ada@example.com")
    response = client.post(
        reverse("signup"),
        {
            "username": "ada2",
            "email": "ADA@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert "An account with this email already exists" in response.content.decode()


def test_signing_in_elsewhere_moves_that_browser_s_history_into_the_account():
    user = UserFactory.create(password=PASSWORD)
    account = VisitorFactory.create(user=user, is_anonymous=False)
    EventFactory.create(visitor=account)
    other_browser = Client()
    tea = ProductFactory.create()
    other_browser.get(tea.get_absolute_url())
    anonymous = Visitor.objects.get(external_id=visitor_cookie(other_browser))

    sign_in(other_browser, user)

    assert visitor_cookie(other_browser) == account.external_id
    assert Event.objects.filter(visitor=account).count() == 2
    assert not Event.objects.filter(visitor=anonymous).exists()
    # What the shopper does next is the account's, on this browser too.
    other_browser.get(tea.get_absolute_url())
    assert Event.objects.filter(visitor=account, product=tea).count() == 2


def test_signing_in_carries_the_cart_and_guest_orders_over(client):
    user = UserFactory.create(password=PASSWORD)
    mug, tea = ProductFactory.create(stock=5), ProductFactory.create(stock=5)
    fill_cart(client, (mug, 1))
    place(client, checkout_token(client))
    fill_cart(client, (tea, 2))
    sign_in(client, user)
    assert Order.objects.get().user == user
    assert "2" in client.get(reverse("catalog:cart")).content.decode()
    assert tea.name in client.get(reverse("catalog:cart")).content.decode()


def test_signing_out_gives_the_browser_a_new_anonymous_visitor(client):
    user = UserFactory.create(password=PASSWORD)
    client.get(reverse("catalog:home"))
    sign_in(client, user)
    account = visitor_cookie(client)
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("catalog:home")
    assert visitor_cookie(client) != account
    client.get(ProductFactory.create().get_absolute_url())
    viewer = Event.objects.get(event_type=EventType.VIEW).visitor
    assert viewer.external_id != account
    assert viewer.user is None


def test_a_browser_left_signed_in_as_someone_else_does_not_give_their_history_away(client):
    first, second = UserFactory.create(password=PASSWORD), UserFactory.create(password=PASSWORD)
    client.get(reverse("catalog:home"))
    sign_in(client, first)
    first_visitor = visitor_cookie(client)
    client.cookies.pop(settings.SESSION_COOKIE_NAME)  # the session expired; the cookie stayed
    sign_in(client, second)
    assert visitor_cookie(client) != first_visitor
    assert Visitor.objects.get(external_id=first_visitor).user == first
    assert Visitor.objects.get(external_id=visitor_cookie(client)).user == second


def test_wrong_password_is_refused(client):
    user = UserFactory.create(password=PASSWORD)
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_account_page_needs_signing_in_and_lists_only_the_shopper_s_orders(client):
    assert client.get(reverse("account"))["Location"].startswith(reverse("login"))
    user = UserFactory.create(password=PASSWORD)
    client.force_login(user)
    mug = ProductFactory.create(stock=5)
    fill_cart(client, (mug, 1))
    place(client, checkout_token(client))
    someone_else = Client()
    fill_cart(someone_else, (mug, 1))
    place(someone_else, checkout_token(someone_else))
    mine, theirs = Order.objects.get(user=user), Order.objects.get(user__isnull=True)
    page = client.get(reverse("account")).content.decode()
    assert mine.number in page
    assert theirs.number not in page


def test_next_must_stay_on_the_site(client):
    data = {"username": "ada", "email": "a@example.com", "password1": PASSWORD}
    data["password2"] = PASSWORD
    response = client.post(reverse("signup") + "?next=https://evil.example/", data)
    assert response["Location"] == reverse("account")
