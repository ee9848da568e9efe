from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.selectors import category_by_id_or_slug
from infrastructure.commands import positive_int
from recommender import serving


def list_length(value: str) -> int:
    """An argparse type: a list length the API serves (1 to MAX_K)."""
    number = positive_int(value)
    if number > serving.MAX_K:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Print what GET /api/recommendations would answer for a visitor (its external id): the "
        "strategy, and each product with its score and the reason it is recommended."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("visitor", help="the visitor's external id (a cookie id, a CustomerID)")
        parser.add_argument("--k", type=list_length, default=10,
                            help=f"list length, 1 to {serving.MAX_K} (default 10)")  # fmt: skip
        parser.add_argument("--category", help="fill from this category (id or slug)")
        parser.add_argument("--include-interacted", action="store_true",
                            help="let products the visitor interacted with back in")  # fmt: skip
        parser.add_argument("--max-per-category", type=list_length,
                            help="at most this many products of one category")  # fmt: skip
        parser.add_argument("--json", action="store_true", help="print the API's JSON answer")

    def handle(self, *args: Any, **options: Any) -> None:
        category = None
        if options["category"]:
            category = category_by_id_or_slug(options["category"])
            if category is None:
                raise CommandError(f"No category with id or slug {options['category']!r}.")
        answer = serving.recommendations(
            serving.RecommendationRequest(
                visitor=options["visitor"],
                k=options["k"],
                category=category,
                include_interacted=options["include_interacted"],
                max_per_category=options["max_per_category"],
            )
        )
        if options["json"]:
            self.stdout.write(json.dumps(answer, indent=2))
            return
        self.stdout.write(f"Visitor {answer['visitor']}: strategy {answer['strategy']}")
        if not answer["items"]:
            self.stdout.write("Nothing to recommend: the catalog has no available products.")
        for rank, item in enumerate(answer["items"], start=1):
            product = item["product"]
            self.stdout.write(
                f"{rank:>3}. #{product['id']:<7} {product['name'][:40]:<40} "
                f"{product['category']['name'][:16]:<16} {item['score']:>10.4f}  "
                f"{item['explanation']}"
            )
