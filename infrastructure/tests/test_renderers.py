from __future__ import annotations

import dataclasses
import json
import math
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from infrastructure.api.renderers import FastJSONRenderer
from tracking.models import EventType


@dataclasses.dataclass
class Point:
    x: int


PAYLOADS = {
    "a list of cards": {
        "visitor": "v-1",
        "strategy": "personalised",
        "items": [
            {
                "product": {"id": 7, "name": "Mug ✓ «blue»", "price": "4.50", "url": "/p/7/"},
                "score": 0.1234567890123,
                "reason": "Because you viewed Lamp",
            }
        ]
        * 10,
        "recommendation_id": None,
        "experiment": None,
    },
    "DRF's containers and lazy text": ReturnDict(
        {
            "detail": gettext_lazy("Not found."),
            "items": ReturnList([1, 2], serializer=serializers.Serializer()),
        },
        serializer=serializers.Serializer(),
    ),
    "times, amounts and ids": {
        "aware": datetime(2026, 12, 7, 14, 42, 18, 601730, tzinfo=UTC),
        "naive": datetime(2026, 12, 7, 14, 42),
        "date": date(2026, 12, 7),
        "time": time(9, 30, 5, 120),
        "delta": timedelta(minutes=90),
        "decimal": Decimal("13.50"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    },
    "keys that are not strings": {1: "one", 2.5: "two and a half", False: "no", None: "none"},
    "choices, tuples, NumPy": {
        "type": EventType.PURCHASE,
        "pair": (1, "a"),
        "scalar": np.float64(0.25),
        "int": np.int64(3),
        "array": np.array([1, 2]),
    },
    "line terminators": {"text": "a\u2028b\u2029c"},
    "an integer beyond 64 bits": {"big": 2**70},
    "nested empties": {"a": [], "b": {}, "c": [[], [{}]]},
}


@pytest.mark.parametrize("data", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_the_bytes_are_drfs(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_a_pretty_printed_answer_is_drfs():
    data = PAYLOADS["a list of cards"]
    media_type = "application/json; indent=4"
    rendered = FastJSONRenderer().render(data, media_type, {})
    assert rendered == JSONRenderer().render(data, media_type, {})
    assert b"\n    " in rendered


def test_what_drf_cannot_render_fails_as_it_does():
    lone_surrogate = {"text": "\ud800"}
    with pytest.raises(UnicodeEncodeError):
        JSONRenderer().render(lone_surrogate)
    with pytest.raises(UnicodeEncodeError):
        FastJSONRenderer().render(lone_surrogate)
    with pytest.raises(TypeError):
        FastJSONRenderer().render({"point": Point(1)})


def test_a_tiny_floats_exponent_is_written_shorter_with_the_same_value():
    data = {"score": 1.5e-07}
    assert FastJSONRenderer().render(data) == b'{"score":1.5e-7}'
    assert json.loads(FastJSONRenderer().render(data)) == json.loads(JSONRenderer().render(data))


def test_nothing_renders_as_no_bytes_and_a_nan_as_null():
    assert FastJSONRenderer().render(None) == b""
    assert json.loads(FastJSONRenderer().render({"score": math.nan})) == {"score": None}


def test_drfs_settings_other_than_its_defaults_are_honoured(monkeypatch):
    data = {"name": "Mug ✓", "items": [1, 2]}
    monkeypatch.setattr(FastJSONRenderer, "ensure_ascii", True)
    monkeypatch.setattr(FastJSONRenderer, "compact", False)
    monkeypatch.setattr(JSONRenderer, "ensure_ascii", True)
    monkeypatch.setattr(JSONRenderer, "compact", False)
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)
    assert b"\\u2713" in FastJSONRenderer().render(data)
