from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        from catalog.signals import order_cancelled, order_placed
        from tracking import receivers

        order_placed.connect(
            receivers.order_purchases_record, dispatch_uid="tracking-order-purchases"
        )
        order_cancelled.connect(
            receivers.order_purchases_cancel, dispatch_uid="tracking-order-cancelled"
        )
