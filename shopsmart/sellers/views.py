"""The seller area of the shop: a seller's products with their figures, listing and changing
one, withdrawing it or putting it back on sale, and the lines of their products in orders.
The same services and reads as the seller API (shopsmart.sellers.api)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from catalog.models import Product, SellerProfile
from catalog.selectors import seller_order_lines, seller_products
from catalog.services import seller_product_save, seller_product_withdraw
from dashboard import charts
from shopsmart.sellers.access import seller_of
from shopsmart.sellers.figures import DEFAULT_DAYS, MAX_DAYS, seller_figures
from shopsmart.sellers.forms import SellerProductForm

ORDER_LINES_PER_PAGE = 50
# The periods the products page offers for its figures.
PERIODS = (7, 30, 90, 365)
CHART_PRODUCTS = 8

SellerView = Callable[..., HttpResponse]


def seller_required(view: SellerView) -> SellerView:
    """Signed in (else the sign-in page), and a seller (else 403); the view gets the seller."""

    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        seller = seller_of(request.user)
        if seller is None:
            raise PermissionDenied("Only sellers have a seller area.")
        return view(request, seller, *args, **kwargs)

    return checked


@require_safe
@seller_required
def products(request: HttpRequest, seller: SellerProfile) -> HttpResponse:
    try:
        days = min(max(int(request.GET.get("days", DEFAULT_DAYS)), 1), MAX_DAYS)
    except ValueError:
        days = DEFAULT_DAYS
    figures = seller_figures(seller=seller, days=days)
    best = sorted(figures.products, key=lambda p: (-p.views, p.product.name))[:CHART_PRODUCTS]
    chart = charts.bar_chart(
        f"Views and sales of your most viewed products, last {days} days",
        [
            (f"{p.product.name[:40]} ({label})", value)
            for p in best
            for label, value in (("views", p.views), ("sold", p.units_sold))
        ],
    )
    context = {
        "seller": seller,
        "figures": figures,
        "periods": PERIODS,
        # charts.bar_chart escapes every label it is given.
        "chart": mark_safe(chart) if best else "",  # noqa: S308
    }
    return render(request, "sellers/products.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@seller_required
def product_new(request: HttpRequest, seller: SellerProfile) -> HttpResponse:
    return _product_form(request, seller, None)


@require_http_methods(["GET", "HEAD", "POST"])
@seller_required
def product_edit(request: HttpRequest, seller: SellerProfile, pk: int) -> HttpResponse:
    return _product_form(request, seller, get_object_or_404(seller_products(seller=seller), pk=pk))


def _product_form(
    request: HttpRequest, seller: SellerProfile, product: Product | None
) -> HttpResponse:
    form = SellerProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            saved = seller_product_save(seller=seller, product=product, **fields)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(request, f"{saved.name} is saved.")
            return redirect("sellers:products")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "product": product, "seller": seller}
    return render(request, "sellers/product_form.html", context, status=status)


@require_POST
@seller_required
def product_withdraw(request: HttpRequest, seller: SellerProfile, pk: int) -> HttpResponse:
    product = get_object_or_404(seller_products(seller=seller), pk=pk)
    seller_product_withdraw(seller=seller, product=product)
    messages.success(request, f"{product.name} is withdrawn: shoppers no longer see it.")
    return redirect("sellers:products")


@require_POST
@seller_required
def product_relist(request: HttpRequest, seller: SellerProfile, pk: int) -> HttpResponse:
    product = get_object_or_404(seller_products(seller=seller), pk=pk)
    seller_product_save(seller=seller, product=product, is_active=True)
    messages.success(request, f"{product.name} is on sale again.")
    return redirect("sellers:products")


@require_safe
@seller_required
def order_lines(request: HttpRequest, seller: SellerProfile) -> HttpResponse:
    page = Paginator(seller_order_lines(seller=seller), ORDER_LINES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "sellers/order_lines.html", {"seller": seller, "page": page})
