from __future__ import annotations

from catalog.importers import BATCH_SIZE, catalog_import
from infrastructure.commands import ImportCommand


class Command(ImportCommand):
    help = (
        "Import products from a CSV with the columns external_id, name, description, price, "
        "category (a name or 'Parent > Child'), image_url, stock: new products are created, "
        "known ones (same external_id) updated. Prints what was read, imported and skipped."
    )
    importer = staticmethod(catalog_import)
    default_batch_size = BATCH_SIZE
