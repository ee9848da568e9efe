from __future__ import annotations

from django.core.management.base import CommandParser

from infrastructure.commands import ImportCommand
from tracking.importers.retailrocket import BATCH_SIZE, retailrocket_import


class Command(ImportCommand):
    help = (
        "Import an event log of products already in the catalog. --format retailrocket: "
        "timestamp (ms),visitorid,event (view/addtocart/transaction),itemid (a product's "
        "external_id),transactionid. Safe to run again: nothing is imported twice."
    )
    importer = staticmethod(retailrocket_import)
    default_batch_size = BATCH_SIZE

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--format", choices=["retailrocket"], required=True)
