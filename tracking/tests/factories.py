from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone
from factory.declarations import LazyAttribute, LazyFunction, Sequence, SubFactory
from factory.django import DjangoModelFactory, Password

from catalog.tests.factories import ProductFactory
from tracking.models import Event, EventSource, EventType, Visitor


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    username = Sequence(lambda n: f"user{n}")
    email = LazyAttribute(lambda o: f"{o.username}@example.com")
    password = Password("a long shop test password")


def role_member(*roles: str, **fields: object) -> User:
    """A staff or API user in the roles (shopsmart.accounts.roles); the roles are restored
    first if a flushing test removed them."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from shopsmart.accounts.roles import roles_sync

    if Group.objects.filter(name__in=roles).count() < len(roles):
        roles_sync(apps)
    user = UserFactory.create(**fields)
    user.groups.add(*Group.objects.filter(name__in=roles))
    return user


def api_client_user(username: str = "partner") -> User:
    """The account behind a partner's token: it may act for any visitor."""
    return role_member("API client", username=username)


class VisitorFactory(DjangoModelFactory[Visitor]):
    class Meta:
        model = Visitor

    external_id = Sequence(lambda n: f"visitor-{n}")
    is_anonymous = True


class EventFactory(DjangoModelFactory[Event]):
    class Meta:
        model = Event

    visitor = SubFactory(VisitorFactory)
    product = SubFactory(ProductFactory)
    event_type = EventType.VIEW
    occurred_at = LazyFunction(timezone.now)
    source = EventSource.API


def visitor_pk(external_id: str) -> int:
    """The id of the visitor with this external id, created if new (as the storefront does)."""
    from tracking.services import visitor_ids_get_or_create

    return visitor_ids_get_or_create(external_ids=[external_id])[external_id]
