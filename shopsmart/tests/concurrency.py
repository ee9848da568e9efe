"""Running the same call from several threads at once, as concurrent requests would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(call: Callable[[int], T], count: int) -> list[T]:
    """call(0) ... call(count - 1), each in a thread of its own, released together; their
    results in the order they finished. Each thread closes its own database connection."""
    barrier = threading.Barrier(count)
    results: list[T] = []

    def run(number: int) -> None:
        barrier.wait()
        try:
            results.append(call(number))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
