from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommender"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from catalog.models import Product
        from catalog.popularity import popularity_source_register
        from catalog.signals import products_described, products_imported
        from recommender import receivers
        from recommender.models import (
            Experiment,
            ExperimentSurface,
            ExperimentVariant,
            MerchandisingRule,
            MerchandisingSettings,
        )
        from recommender.selectors import product_popularity
        from tracking.models import Event, Visitor
        from tracking.signals import events_imported, events_recorded, store_flushing

        events_recorded.connect(receivers.visitors_invalidate, dispatch_uid="rec-visitors")
        events_imported.connect(receivers.everything_invalidate, dispatch_uid="rec-events-import")
        products_imported.connect(
            receivers.everything_invalidate, dispatch_uid="rec-products-import"
        )
        products_described.connect(
            receivers.content_refresh_follow, dispatch_uid="rec-content-refresh"
        )
        post_save.connect(
            receivers.trending_category_follow, sender=Product, dispatch_uid="rec-trending-category"
        )
        for model in (MerchandisingRule, MerchandisingSettings):
            for signal in (post_save, post_delete):
                signal.connect(
                    receivers.merchandising_invalidate,
                    sender=model,
                    dispatch_uid=f"rec-merchandising-{model.__name__}-{signal is post_save}",
                )
        for design in (Experiment, ExperimentVariant, ExperimentSurface):
            for signal in (post_save, post_delete):
                signal.connect(
                    receivers.experiments_invalidate,
                    sender=design,
                    dispatch_uid=f"rec-experiments-{design.__name__}-{signal is post_save}",
                )
        store_flushing.connect(receivers.computed_delete, dispatch_uid="rec-store-flush")
        post_delete.connect(
            receivers.product_deleted, sender=Product, dispatch_uid="rec-product-deleted"
        )
        post_delete.connect(
            receivers.visitor_deleted, sender=Visitor, dispatch_uid="rec-visitor-deleted"
        )
        post_save.connect(receivers.event_saved, sender=Event, dispatch_uid="rec-event-saved")
        # Sorting the catalog by popularity reads the 30-day trending scores.
        popularity_source_register(product_popularity)
