"""The served session index and live ranking, kept in each worker process.

Loading a snapshot costs a few milliseconds per megabyte, so a process keeps the one it loaded
and looks for a newer one (one indexed query) at most every SNAPSHOT_RECHECK_SECONDS: a list
never uses a snapshot more than that much older than the newest, well within the pipelines'
own periods.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import models

from recommender.algorithms.live_ranker import LiveRanker
from recommender.algorithms.sessions import SessionIndex
from recommender.models import LiveRankerSnapshot, SessionIndexSnapshot

SNAPSHOT_RECHECK_SECONDS = 30.0

Loaded = TypeVar("Loaded")


class _NewestSnapshot(Generic[Loaded]):
    """The newest row of a snapshot model, loaded from its `data` and kept."""

    def __init__(
        self, model: type[models.Model], load: Callable[[bytes], Loaded], empty: Loaded
    ) -> None:
        self._model, self._load, self._empty = model, load, empty
        self._lock = threading.Lock()
        # (snapshot id or None, what it holds, when the newest id was last checked)
        self._loaded: tuple[int | None, Loaded, float] = (None, empty, -float("inf"))

    def get(self) -> Loaded:
        with self._lock:
            loaded_id, value, checked = self._loaded
            if time.monotonic() - checked < SNAPSHOT_RECHECK_SECONDS:
                return value
            rows = self._model._default_manager.order_by("-id")
            newest = rows.values_list("pk", flat=True).first()
            if newest is None:
                value = self._empty
            elif newest != loaded_id:
                data = rows.filter(pk=newest).values_list("data", flat=True).first()
                value = self._load(bytes(data)) if data is not None else value
            self._loaded = (newest, value, time.monotonic())
            return value

    def forget(self) -> None:
        with self._lock:
            self._loaded = (None, self._empty, -float("inf"))


_session_index = _NewestSnapshot(
    SessionIndexSnapshot, SessionIndex.from_bytes, SessionIndex.empty()
)
_live_ranker: _NewestSnapshot[LiveRanker | None] = _NewestSnapshot(
    LiveRankerSnapshot, LiveRanker.usable_from_bytes, None
)


def served_session_index() -> SessionIndex:
    """The newest session index (empty before the sessions pipeline has run)."""
    return _session_index.get()


def served_live_ranker() -> LiveRanker | None:
    """The newest live ranking (None before the live ranking pipeline has learnt one: the
    blend of V-SKNN and neighbours serves)."""
    return _live_ranker.get()


def session_index_forget() -> None:
    """Drop the process's copies (tests, and a store flushed): the next read loads the newest."""
    _session_index.forget()
    _live_ranker.forget()
