from __future__ import annotations

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
