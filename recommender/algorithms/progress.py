"""How long work reports its progress, for the commands' progress bars."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """`done` units of `total` so far; `phase` names the part of the work now under way when
    it changes (a long phase with no units of its own still shows what is happening)."""

    def __call__(self, done: int, total: int, /, *, phase: str | None = None) -> None: ...


def progress_offset(progress: Progress | None, before: int, total: int) -> Progress | None:
    """A progress callback for one part of a longer job: `before` units already done."""
    if progress is None:
        return None

    def offset(done: int, _total: int, *, phase: str | None = None) -> None:
        progress(before + done, total, phase=phase)

    return offset
