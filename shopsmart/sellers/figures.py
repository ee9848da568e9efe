"""A seller's figures per product: what shoppers did with each of their products (views, the
views that came from a recommendation, add-to-carts) and what it sold, over recent days.

Joins the catalog's sales (order lines at the prices sold, cancelled orders left out) with
the tracking app's activity, so it lives above both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import Product, SellerProfile
from catalog.selectors import seller_products, seller_sales
from tracking.selectors import product_activity

DEFAULT_DAYS = 30
MAX_DAYS = 365


@dataclass(frozen=True)
class ProductFigures:
    product: Product
    views: int
    recommendation_clicks: int
    add_to_carts: int
    units_sold: int
    revenue: Decimal
    orders: int

    @property
    def add_to_cart_rate(self) -> float | None:
        """Add-to-carts per view; None before any view."""
        return self.add_to_carts / self.views if self.views else None


@dataclass(frozen=True)
class SellerFigures:
    days: int
    products: list[ProductFigures]

    @property
    def revenue(self) -> Decimal:
        return sum((p.revenue for p in self.products), Decimal("0"))

    @property
    def units_sold(self) -> int:
        return sum(p.units_sold for p in self.products)

    @property
    def views(self) -> int:
        return sum(p.views for p in self.products)


def seller_figures(*, seller: SellerProfile, days: int = DEFAULT_DAYS) -> SellerFigures:
    """Each of the seller's products (withdrawn ones too) with its figures over the last
    `days` days, newest product first (three queries whatever the number of products)."""
    since = timezone.now() - timedelta(days=days)
    products = list(seller_products(seller=seller))
    activity = product_activity(product_ids=[p.pk for p in products], since=since)
    sales = seller_sales(seller=seller, since=since)
    figures = []
    for product in products:
        seen = activity.get(product.pk)
        sold = sales.get(product.pk)
        figures.append(
            ProductFigures(
                product=product,
                views=seen.views if seen else 0,
                recommendation_clicks=seen.recommendation_clicks if seen else 0,
                add_to_carts=seen.add_to_carts if seen else 0,
                units_sold=sold.units if sold else 0,
                revenue=sold.revenue if sold else Decimal("0.00"),
                orders=sold.orders if sold else 0,
            )
        )
    return SellerFigures(days=days, products=figures)
