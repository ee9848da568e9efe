from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from infrastructure.commands import ProgressStream, positive_int
from tracking.demo.generator import DemoConfig, generate
from tracking.demo.loader import StoreNotEmptyError, demo_store_load

HELP = """Fill the store with a realistic, deterministic demo shop.

The same --seed always gives the same shop. The model behind it:
  catalog   products in leaf categories, each with a style (classic, modern, rustic, playful,
            luxury, eco) in its name and description, a Zipf popularity inside its category,
            a hidden quality, and 3 complements that are often bought with it;
  shoppers  70%% anonymous; 1-2 preferred categories receive 90%% of a shopper's events; a
            sparse latent taste over styles; a log-normal activity level;
  sessions  one category each; a geometric number of views (mean 4) about a minute apart;
            products drawn by popularity and the shopper's (or the session's) style; session ages
            exponential with a mean of a third of --days, so recent days are busier;
  funnel    view -> add to cart -> purchase at checkout, with complements bought together;
            rates solved so the mix is 80%% views, 15%% add-to-cart, 5%% purchases;
  reviews   a quarter of purchases, rated by quality and by taste fit.
See docs/demo-data.md for details.
"""


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = DemoConfig()
        parser.add_argument("--categories", type=positive_int, default=defaults.categories)
        parser.add_argument("--products", type=positive_int, default=defaults.products)
        parser.add_argument("--visitors", type=positive_int, default=defaults.visitors)
        parser.add_argument("--events", type=positive_int, default=defaults.events)
        parser.add_argument(
            "--days", type=positive_int, default=defaults.days, help="period length"
        )
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--end",
            help="ISO date-time at which the period ends (default: now); fixes timestamps too",
        )
        parser.add_argument(
            "--flush",
            action="store_true",
            help="delete the existing catalog, shoppers, events and computed tables first",
        )
        parser.add_argument(
            "--shopper-password",
            help="let demo shoppers (shopper000001, ...) log in with this password",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        end = self._end(options["end"])
        try:
            config = DemoConfig(
                categories=options["categories"],
                products=options["products"],
                visitors=options["visitors"],
                events=options["events"],
                days=options["days"],
                seed=options["seed"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error

        started = time.perf_counter()
        data = generate(config)
        generated = time.perf_counter()
        try:
            counts = demo_store_load(
                data=data,
                end=end,
                flush=options["flush"],
                shopper_password=options["shopper_password"],
                progress_stream=self._progress_stream() if options["verbosity"] > 0 else None,
            )
        except StoreNotEmptyError as error:
            raise CommandError(str(error)) from error
        finished = time.perf_counter()
        summary = ", ".join(f"{count:,} {name}" for name, count in counts.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {summary} in {finished - started:.1f} s "
                f"(generated in {generated - started:.1f} s)."
            )
        )

    def _progress_stream(self) -> IO[str]:
        return cast(IO[str], ProgressStream(self.stderr))

    def _end(self, value: str | None) -> datetime:
        if value is None:
            return timezone.now()
        parsed = parse_datetime(value)
        if parsed is None:
            raise CommandError(f"--end {value!r} is not an ISO date-time (2026-01-31T12:00:00Z).")
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, UTC)
        return parsed
