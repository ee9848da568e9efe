from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from recommender.services import schedule_install


class Command(BaseCommand):
    help = "Install the declared periodic jobs (recommender/schedules.py) for celery beat."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = schedule_install()
        self.stdout.write(
            self.style.SUCCESS(
                f"Schedule installed: {counts['created']} created, {counts['kept']} already there."
            )
        )
