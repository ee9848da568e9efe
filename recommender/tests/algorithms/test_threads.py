import threading
import time

import pytest

from recommender.algorithms.threads import in_order


class Recorder:
    """A block of work that takes longer the earlier its item, and counts the calls running
    and started."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.most_running = self.started = 0

    def __call__(self, item: int) -> int:
        with self.lock:
            self.started += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        time.sleep(0.02 / (item + 1))
        with self.lock:
            self.running -= 1
        return item * item


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_results_come_in_the_items_order_whichever_finishes_first(threads):
    work = Recorder()
    assert list(in_order(work, range(8), threads=threads)) == [n * n for n in range(8)]
    assert work.most_running <= threads


def test_at_most_threads_blocks_are_started_ahead_of_the_reader():
    work = Recorder()
    results = in_order(work, range(100), threads=2)
    assert next(results) == 0
    # The first result read, the second computed or computing: nothing more was submitted,
    # so a caller writing each block as it comes holds two in memory, not the whole run.
    assert work.started <= 2
    assert list(results) == [n * n for n in range(1, 100)]


def test_an_error_in_a_block_reaches_the_reader():
    def failing(item: int) -> int:
        if item == 3:
            raise ValueError("block 3")
        return item

    with pytest.raises(ValueError, match="block 3"):
        list(in_order(failing, range(6), threads=2))
