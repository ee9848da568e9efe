from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        from catalog.signals import order_cancelled, order_placed
        from infrastructure.api.access import account_visitor_source_register
        from tracking import receivers
        from tracking.selectors import account_visitor

        # A shopper's token acts for their account's visitor.
        account_visitor_source_register(account_visitor)
        order_placed.connect(
            receivers.order_purchases_record, dispatch_uid="tracking-order-purchases"
        )
        order_cancelled.connect(
            receivers.order_purchases_cancel, dispatch_uid="tracking-order-cancelled"
        )
