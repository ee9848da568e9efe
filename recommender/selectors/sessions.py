"""The served session index, kept in each worker process.

Loading a snapshot costs a few milliseconds per megabyte, so a process keeps the one it loaded
and looks for a newer one (one indexed query) at most every SESSION_INDEX_RECHECK_SECONDS: a
list never uses an index more than that much older than the newest, well within the
pipeline's own period.
"""

from __future__ import annotations

import threading
import time

from recommender.algorithms.sessions import SessionIndex
from recommender.models import SessionIndexSnapshot

SESSION_INDEX_RECHECK_SECONDS = 30.0

_lock = threading.Lock()
# (snapshot id or None, the index, when the newest id was last checked)
_loaded: tuple[int | None, SessionIndex, float] = (None, SessionIndex.empty(), -float("inf"))


def served_session_index() -> SessionIndex:
    """The newest session index (empty before the sessions pipeline has run)."""
    global _loaded
    with _lock:
        loaded_id, index, checked = _loaded
        if time.monotonic() - checked < SESSION_INDEX_RECHECK_SECONDS:
            return index
        newest = SessionIndexSnapshot.objects.values_list("pk", flat=True).first()
        if newest is None:
            index = SessionIndex.empty()
        elif newest != loaded_id:
            data = (
                SessionIndexSnapshot.objects.filter(pk=newest)
                .values_list("data", flat=True)
                .first()
            )
            index = SessionIndex.from_bytes(bytes(data)) if data is not None else index
        _loaded = (newest, index, time.monotonic())
        return index


def session_index_forget() -> None:
    """Drop the process's copy (tests, and a store flushed): the next read loads the newest."""
    global _loaded
    with _lock:
        _loaded = (None, SessionIndex.empty(), -float("inf"))
