"""The base of the serializers that validate a request's query parameters."""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers


class QueryParameters(serializers.Serializer[Any]):
    """Validates query parameters, with its fields copied shallowly for each request.

    DRF deep-copies every declared field (its validators, choices and messages) for each
    serializer instance, which costs more than validating a request's few parameters. Binding
    sets only the copy's own attributes, and flat parameter fields hold nothing a request
    changes, so a shallow copy is enough.
    """

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    def to_internal_value(self, data: Any) -> Any:
        # DRF reads an empty query parameter as an absent one (HTML form semantics), so
        # `?ordering=` would quietly mean the default; a choice must be one of the choices.
        empty = [
            name
            for name, field in self.fields.items()
            if isinstance(field, serializers.ChoiceField) and data.get(name) == ""
        ]
        if empty:
            raise serializers.ValidationError(
                {name: ['"" is not a valid choice.'] for name in empty}
            )
        return super().to_internal_value(data)
