from __future__ import annotations

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_migrate, post_save

        from catalog import receivers
        from catalog.models import Category, Product
        from catalog.search import search_index_after_migrate
        from catalog.signals import products_changed
        from infrastructure import lookups

        lookups.register()
        # A later migration that rebuilds the product table (SQLite) drops the search
        # triggers: they are checked, and restored with the index, after every migrate.
        post_migrate.connect(search_index_after_migrate, sender=self, dispatch_uid="search")
        products_changed.connect(receivers.catalog_invalidate, dispatch_uid="catalog-products")
        for model in (Product, Category):
            for name, signal in (("saved", post_save), ("deleted", post_delete)):
                signal.connect(
                    receivers.catalog_invalidate,
                    sender=model,
                    dispatch_uid=f"catalog-{model.__name__}-{name}",
                )
