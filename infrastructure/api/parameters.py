"""The base of the serializers that validate a request's query parameters."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from django.http import QueryDict
from rest_framework import serializers

from infrastructure.api.flat import FlatSerializer


class QueryParameters(FlatSerializer):
    """Validates query parameters: valid ones by fields made once per process
    (infrastructure.api.flat), others with fields copied shallowly for the request. A
    parameter the operation does not take is a 400 naming it: a misspelt filter
    (`catgory=kitchen`) must not quietly answer the unfiltered question.

    DRF deep-copies every declared field (its validators, choices and messages) for each
    serializer instance, which costs more than validating a request's few parameters. Binding
    sets only the copy's own attributes, and flat parameter fields hold nothing a request
    changes, so a shallow copy is enough.
    """

    # Parameters the view reads itself (a paginator's), besides the fields.
    also_accepted: ClassVar[tuple[str, ...]] = ()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    def to_internal_value(self, data: Any) -> Any:
        # DRF reads an empty query parameter as an absent one (HTML form semantics), so
        # `?ordering=` would quietly mean the default. An API parameter sent empty is a value,
        # refused unless its field allows blanks, as the published schema says.
        if isinstance(data, QueryDict):
            data = data.dict()
        unknown = sorted(set(data) - set(self._declared_fields) - set(self.also_accepted))
        if unknown:
            raise serializers.ValidationError(
                {name: ["Not a parameter of this operation."] for name in unknown}
            )
        return super().to_internal_value(data)
