"""Serializers of flat fields whose valid input skips DRF's per-instance field copies.

DRF deep-copies a serializer's declared fields for every instance (`fields`), and its loop in
`to_internal_value` also serves sources, nested serializers and HTML forms. For a few flat
fields of plain values that setup costs more than the validation itself: a batch of 500
events paid it 500 times, and a cache hit on the recommendations spent a sixth of its CPU
building the query's fields.

Here each serializer class's writable fields are made once per process, and a plain dict is
validated by a short loop over them and the class's `validate_<name>` methods. Validating a
value leaves a field unchanged, so the fields can be shared. Anything that is not plainly
valid goes through DRF's own loop, with fields of the instance's own, so every error message
is DRF's (tests compare both loops on valid and invalid input).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import SkipField, empty
from rest_framework.validators import ProhibitSurrogateCharactersValidator

Field = serializers.Field[Any, Any, Any, Any]
Check = tuple[str, Field, Callable[[Any, Any], Any] | None]


class FlatSerializer(serializers.Serializer[Any]):
    """A serializer whose fields are flat (each its own source): see the module."""

    def to_internal_value(self, data: Any) -> Any:
        if type(data) is dict:
            validated = _plainly_valid(self, data)
            if validated is not None:
                return validated
        return super().to_internal_value(data)

    def run_validators(self, value: Any) -> None:
        # DRF builds the instance's fields to give read-only defaults to the serializer's
        # own validators; there are none unless a subclass declares some.
        if self.validators:
            super().run_validators(value)


def _plainly_valid(serializer: FlatSerializer, data: dict[str, Any]) -> dict[str, Any] | None:
    """What DRF's loop returns for valid data; None when a field or validate_ method refuses
    a value (DRF's loop then says which, with its messages)."""
    validated = {}
    try:
        for name, field, method in _checks(type(serializer)):
            try:
                value = field.run_validation(data.get(name, empty))
            except SkipField:
                continue  # an optional field not sent
            validated[name] = value if method is None else method(serializer, value)
    except (serializers.ValidationError, DjangoValidationError):
        return None
    return validated


@functools.cache
def _checks(serializer: type[FlatSerializer]) -> tuple[Check, ...]:
    """Each writable field of the class with its name and validate_ method, made once."""
    checks = []
    for field in serializer()._writable_fields:
        name = field.field_name
        if name is None or field.source_attrs != [name]:
            raise ImproperlyConfigured(f"{serializer.__name__}.{name} has a source of its own.")
        checks.append((name, _quick(field), getattr(serializer, f"validate_{name}", None)))
    return tuple(checks)


_SURROGATES = re.compile(r"[\ud800-\udfff]")


def _no_surrogates(value: Any) -> None:
    """Refuses what DRF's ProhibitSurrogateCharactersValidator refuses, by one regular
    expression search: DRF's loops over the characters in Python, a sixth of a batch's
    validation (the message is DRF's all the same, from its own loop)."""
    if _SURROGATES.search(str(value)):
        raise serializers.ValidationError("Surrogate characters are not allowed.")


def _quick(field: Field) -> Field:
    """The field, or a copy of it whose surrogate check is _no_surrogates."""
    validators = field.validators
    if not any(isinstance(v, ProhibitSurrogateCharactersValidator) for v in validators):
        return field
    quick = copy.copy(field)
    quick.validators = [
        _no_surrogates if isinstance(v, ProhibitSurrogateCharactersValidator) else v
        for v in validators
    ]
    return quick
