"""Fitted models as bytes, for a pipeline to store and its workers to load.

scikit-learn documents pickle as its models' persistence. Only our own pipelines write these
bytes (into our own database), and only our workers read them.
"""

from __future__ import annotations

import pickle
from typing import TypeVar

Model = TypeVar("Model")


def to_bytes(model: object) -> bytes:
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def from_bytes(data: bytes, kind: type[Model]) -> Model:
    """The model the bytes hold, which must be a `kind`."""
    model = pickle.loads(data)  # noqa: S301 (our own bytes: see the module's docstring)
    if not isinstance(model, kind):
        raise TypeError(f"not a {kind.__name__}")
    return model
