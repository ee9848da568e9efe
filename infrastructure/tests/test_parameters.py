from __future__ import annotations

import pytest
from django.http import QueryDict
from rest_framework import serializers

from infrastructure.api.parameters import QueryParameters


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


def test_an_empty_parameter_is_a_value_refused_unless_its_field_allows_blanks():
    parameters = Window(data=QueryDict("window=&k="))
    assert not parameters.is_valid()
    assert parameters.errors == {
        "window": ['"" is not a valid choice.'],
        "k": ["A valid integer is required."],
    }
    valid = Window(data=QueryDict("k=3"))
    assert valid.is_valid()
    assert valid.validated_data == {"k": 3}


@pytest.mark.parametrize("query", ["", "k=3", "k=3&window=7d", "k=99", "window=1y", "k=&window="])
def test_parameters_are_validated_as_drfs_own_loop_would(query):
    data = QueryDict(query).dict()

    def outcome(validate):
        try:
            return "valid", validate(Window(), data)
        except serializers.ValidationError as error:
            return "invalid", error.detail

    quick = outcome(Window.to_internal_value)
    assert quick == outcome(serializers.Serializer.to_internal_value)
    assert quick[0] == ("valid" if query in {"", "k=3", "k=3&window=7d"} else "invalid")
