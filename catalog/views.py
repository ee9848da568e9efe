from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from catalog import selectors
from catalog.models import Category
from catalog.placeholders import placeholder_svg

PAGE_SIZE = 24


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "categories": selectors.category_list().filter(parent__isnull=True),
        "products": selectors.product_newest(limit=12),
    }
    return render(request, "catalog/home.html", context)


@require_safe
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(Category, slug=slug)
    products = selectors.product_list(category=category).order_by("name", "id")
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/category_detail.html", {"category": category, "page": page})


@require_safe
def product_detail(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    product = selectors.product_detail(pk=pk)
    if slug != product.slug:
        return redirect(product, permanent=True)
    return render(request, "catalog/product_detail.html", {"product": product})


@require_safe
@cache_control(public=True, max_age=60 * 60 * 24 * 365, immutable=True)
def placeholder_image(request: HttpRequest, theme: str, key: str) -> HttpResponse:
    return HttpResponse(placeholder_svg(theme=theme, key=key), content_type="image/svg+xml")
