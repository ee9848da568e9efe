from __future__ import annotations

from django.http import QueryDict
from rest_framework import serializers

from shopsmart.api.parameters import QueryParameters


class Window(QueryParameters):
    k = serializers.IntegerField(min_value=1, max_value=50, default=10)
    window = serializers.ChoiceField(choices=["7d", "30d"], required=False)


def test_each_request_validates_with_fields_of_its_own():
    first, second = Window(data={"k": "3"}), Window(data={"k": "99", "window": "1y"})

    assert first.is_valid()
    assert not second.is_valid()
    assert first.validated_data == {"k": 3}
    assert set(second.errors) == {"k", "window"}
    assert first.fields["k"].parent is first
    assert second.fields["k"].parent is second
    # The declared fields themselves are never bound to a request's serializer.
    assert Window._declared_fields["k"].parent is None


def test_an_empty_choice_is_refused_not_read_as_the_default():
    parameters = Window(data=QueryDict("window="))
    assert not parameters.is_valid()
    assert parameters.errors == {"window": ['"" is not a valid choice.']}
    # Other empty parameters still mean "absent", as in a query string from a form.
    assert Window(data=QueryDict("k=")).is_valid()
