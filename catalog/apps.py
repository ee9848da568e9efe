from __future__ import annotations

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from catalog.search import search_index_after_migrate
        from infrastructure import lookups

        lookups.register()
        # A later migration that rebuilds the product table (SQLite) drops the search
        # triggers: they are checked, and restored with the index, after every migrate.
        post_migrate.connect(search_index_after_migrate, sender=self, dispatch_uid="search")
