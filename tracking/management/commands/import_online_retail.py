from __future__ import annotations

from infrastructure.commands import ImportCommand
from tracking.importers.online_retail import BATCH_SIZE, online_retail_import


class Command(ImportCommand):
    help = (
        "Import the UCI Online Retail log (.csv or .csv.gz): products, customers and one "
        "purchase event per product and invoice. Safe to run again: nothing is imported twice. "
        "Prints what was read, imported and skipped (by reason, with the first line numbers)."
    )
    importer = staticmethod(online_retail_import)
    default_batch_size = BATCH_SIZE
