"""Content neighbours: the served top-n product against the exact dense product, on the demo
catalog of each size (issue 24: the recall of a fast method against the exact lists).

The catalog is the one `seed_demo` builds for the size (tracking.demo.generator, no database):
its texts are vectorised as the pipeline does, then every product's top 20 is computed twice,
by `iter_content_blocks` (sparse_dot_topn's top-n product, on every core) and by a plain dense
reference written here (each block of rows against the whole catalog, sorted by score, ties
by product id). Printed: the seconds of each, their ratio, the recall of the served lists
(the share of the reference's pairs they hold) and how many lists are identical, in order.

    python bench/content_recall.py                 # 1,000 and 10,000 products
    python bench/content_recall.py --sizes 100000  # the reference alone takes minutes
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")

import django

django.setup()

from recommender.algorithms.content_similarity import (  # noqa: E402
    ProductText,
    iter_content_blocks,
    tfidf_matrix,
)
from recommender.algorithms.item_similarity import Neighbours  # noqa: E402
from tracking.demo.data import DemoConfig  # noqa: E402
from tracking.demo.generator import generate  # noqa: E402

TOP_K = 20
# Reference rows per block: 2**24 float64 similarities at most (128 MiB).
CELLS = 2**24


def demo_texts(products: int) -> list[ProductText]:
    demo = generate(DemoConfig(products=products, visitors=10, events=100))
    return [
        ProductText(name, description, demo.categories[int(category)].name)
        for name, description, category in zip(
            demo.products.names, demo.products.descriptions, demo.products.category, strict=True
        )
    ]


def reference_lists(matrix: sp.csr_matrix, top_k: int) -> list[list[int]]:
    """Each row's top_k columns by the whole dense product: score descending (rounded to 10
    decimals, as the pipeline compares them), ties by column, cosine > 0 only."""
    count = matrix.shape[0]
    transposed = matrix.T.tocsr()
    lists: list[list[int]] = []
    block = max(1, CELLS // count)
    for start in range(0, count, block):
        stop = min(start + block, count)
        scores = np.round((matrix[start:stop] @ transposed).toarray(), 10)
        scores[np.arange(stop - start), np.arange(start, stop)] = 0.0
        columns = np.broadcast_to(np.arange(count), scores.shape)
        order = np.lexsort((columns, -scores), axis=1)[:, :top_k]
        for row in range(stop - start):
            best = order[row]
            lists.append(best[scores[row, best] > 0].tolist())
    return lists


def served_lists(matrix: sp.csr_matrix, top_k: int) -> list[list[int]]:
    count = matrix.shape[0]
    ids = np.arange(count, dtype=np.int64)
    threads = len(os.sched_getaffinity(0))
    blocks = iter_content_blocks(matrix, ids, top_k=top_k, threads=threads)
    found = Neighbours.concatenate(list(blocks))
    lists: list[list[int]] = [[] for _ in range(count)]
    for product, neighbour in zip(found.product.tolist(), found.neighbour.tolist(), strict=True):
        lists[product].append(neighbour)
    return lists


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    args = parser.parse_args()
    print(
        f"{'products':>9}{'served s':>10}{'exact s':>9}{'ratio':>8}{'recall':>9}{'identical':>11}"
    )
    for size in args.sizes:
        matrix = tfidf_matrix(demo_texts(size))
        started = time.perf_counter()
        served = served_lists(matrix, TOP_K)
        served_seconds = time.perf_counter() - started
        started = time.perf_counter()
        exact = reference_lists(matrix, TOP_K)
        exact_seconds = time.perf_counter() - started
        pairs = sum(len(e) for e in exact)
        held = sum(len(set(s) & set(e)) for s, e in zip(served, exact, strict=True))
        identical = sum(s == e for s, e in zip(served, exact, strict=True))
        print(
            f"{size:>9,}{served_seconds:>10.2f}{exact_seconds:>9.2f}"
            f"{exact_seconds / served_seconds:>7.1f}x{held / max(pairs, 1):>9.4f}"
            f"{identical:>7,} of {size:,}"
        )


if __name__ == "__main__":
    main()
