from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Product
from infrastructure.commands import positive_int
from recommender.models import SimilarityKind
from recommender.selectors import product_neighbours

HEADINGS = {
    SimilarityKind.BEHAVIOURAL: "Item-to-item neighbours (visitors who interacted with both)",
    SimilarityKind.CONTENT: "Content neighbours (TF-IDF of name, category and description)",
    SimilarityKind.BOUGHT_TOGETHER: "Frequently bought together (baskets with both)",
}
# What each kind's co-occurrence counts (content neighbours count nothing).
COUNTED = {SimilarityKind.BEHAVIOURAL: "visitors", SimilarityKind.BOUGHT_TOGETHER: "baskets"}


class Command(BaseCommand):
    help = (
        "Print a product's stored neighbours, best first: item-to-item ones with how many "
        "visitors interacted with both (co-occurrence), then content ones; products that "
        "cannot be recommended now (inactive or out of stock) are marked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("product", type=int, help="the product's id")
        parser.add_argument("--top", type=positive_int, default=20,
                            help="neighbours of each kind (default 20)")  # fmt: skip
        parser.add_argument("--json", action="store_true", help="print them as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        product = Product.objects.filter(pk=options["product"]).first()
        if product is None:
            raise CommandError(f"No product with id {options['product']}.")
        neighbours = {
            kind: product_neighbours(product_id=product.pk, kind=kind, limit=options["top"])
            for kind in SimilarityKind
        }
        if options["json"]:
            body = {
                "product": {"id": product.pk, "name": product.name},
                **{kind.value: [asdict(row) for row in rows] for kind, rows in neighbours.items()},
            }
            self.stdout.write(json.dumps(body, indent=2))
            return
        self.stdout.write(f"#{product.pk} {product.name}")
        for kind, rows in neighbours.items():
            self.stdout.write(f"\n{HEADINGS[kind]}:")
            if not rows:
                self.stdout.write("  none stored (run the similarity pipelines)")
            unit = COUNTED.get(kind)
            for rank, row in enumerate(rows, start=1):
                counted = f"{row.co_occurrence:>6} {unit}" if unit else ""
                flag = "" if row.available else "  (not available now)"
                self.stdout.write(
                    f"{rank:>4}. #{row.product:<7} {row.name[:40]:<40} "
                    f"{row.score:>7.4f}{counted}{flag}"
                )
