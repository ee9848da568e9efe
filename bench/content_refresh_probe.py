"""One measurement for bench/content_refresh.py, run inside the project on the bench store:
prints a JSON object. Not a test: it changes the store (adds a product)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsmart.settings.base")
django.setup()

import numpy as np  # noqa: E402

from catalog.models import Product  # noqa: E402
from recommender import pipelines  # noqa: E402
from recommender.models import ContentSimilarity  # noqa: E402


def lists(products: list[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {p: set() for p in products}
    rows = ContentSimilarity.objects.filter(product_id__in=products)
    for product, neighbour in rows.values_list("product_id", "similar_product_id"):
        found[product].add(neighbour)
    return found


def main() -> None:
    started = time.perf_counter()
    pipelines.content_compute()
    full_seconds = time.perf_counter() - started

    rng = np.random.default_rng(int(time.time()))
    ids = list(Product.objects.values_list("id", flat=True))
    model = Product.objects.select_related("category").get(pk=int(rng.choice(ids)))
    new = Product.objects.create(
        name=f"{model.name} deluxe",
        slug="deluxe",
        description=model.description,
        price=model.price,
        category=model.category,
        stock=5,
    )
    started = time.perf_counter()
    run = pipelines.content_refresh(product_ids=[new.pk])
    refresh_seconds = time.perf_counter() - started

    changed = [
        int(p)
        for p in ContentSimilarity.objects.filter(similar_product=new).values_list(
            "product_id", flat=True
        )
    ]
    touched = sorted({new.pk, *changed})
    refreshed = lists(touched)
    pipelines.content_compute()
    full = lists(touched)
    shares = [len(refreshed[p] & full[p]) / len(full[p]) for p in touched if full[p]]
    own = len(refreshed[new.pk] & full[new.pk]) / max(len(full[new.pk]), 1)
    print(
        json.dumps(
            {
                "full_seconds": round(full_seconds, 3),
                "refresh_seconds": round(refresh_seconds, 3),
                "lists_changed": run.statistics["lists_changed"],
                "agreement": round(float(np.mean(shares)), 4) if shares else 1.0,
                "own_agreement": round(own, 4),
                "phases": run.statistics.get("seconds", {}),
            }
        )
    )
    new.delete()


if __name__ == "__main__":
    main()
