from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, MutableMapping
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from catalog import selectors
from catalog.cart import (
    MAX_QUANTITY,
    Cart,
    CartError,
    cart_clear,
    cart_increase,
    cart_quantities,
    cart_read,
    cart_set,
    shopper_cart_change,
    shopper_cart_data,
)
from catalog.forms import (
    BoughtTogetherForm,
    CheckoutForm,
    ProductFilterForm,
    QuantityForm,
    ReviewForm,
    SearchForm,
)
from catalog.models import Category, Product
from catalog.pagination import ProductQueryPaginator
from catalog.placeholders import placeholder_svg
from catalog.services import (
    ORDERS_PLACED_SESSION_KEY,
    CheckoutError,
    ReviewError,
    order_place,
    review_create,
)
from infrastructure import cache
from recommender import serving
from recommender.experiments.assignment import Assignment
from tracking.impressions import Shown, impression_record
from tracking.models import RECOMMENDATION_ID, EventType
from tracking.selectors import recently_viewed
from tracking.services import storefront_event_record, visitor_ids_get_or_create

T = TypeVar("T")

PAGE_SIZE = 24


SHELF_LENGTH = 8
BOUGHT_TOGETHER_LENGTH = 3
BOUGHT_TOGETHER_WIDGET = "product_bought_together"
# Where a recommended product was clicked: `?rec=<widget>&strategy=<strategy>` on its link.
WIDGET = re.compile(r"[a-z0-9_]{1,40}")
# A shelf's impression id on its links: `&rid=<id>` (tracking.models.new_impression_id).
IMPRESSION_ID = re.compile(r"[0-9a-f]{32}")
# Where a cached page's shelf links take the impression id of each showing.
IMPRESSION_MARK = "impression-of-this-showing"


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    for_you, assigned = serving.recommendations_assigned(
        serving.RecommendationRequest(visitor=request.visitor_id, k=SHELF_LENGTH)  # type: ignore[attr-defined]
    )
    context: dict[str, Any] = {
        "categories": selectors.category_list().filter(parent__isnull=True),
        # A first visit has no history: its "for you" would only repeat the trending shelf.
        "for_you": for_you
        if for_you["strategy"] != serving.RecommendationStrategy.GLOBAL_TRENDING
        else None,
        # Returning buyers' own repeat purchases (the shelf hides itself when empty).
        "buy_again": serving.recommendations(
            serving.RecommendationRequest(
                visitor=request.visitor_id,  # type: ignore[attr-defined]
                k=SHELF_LENGTH,
                scenario=serving.RecommendationScenario.BUY_AGAIN,
            )
        ),
        "trending": serving.trending_products(
            window=serving.RECOMMENDATION_TRENDING_WINDOW, category=None, k=SHELF_LENGTH
        ),
        "products": selectors.product_newest(limit=12),
    }
    context["impressions"] = {
        "home_for_you": _shelf_shown(request, "home_for_you", context["for_you"], assigned),
        "home_buy_again": _shelf_shown(request, "home_buy_again", context["buy_again"]),
        "home_trending": _shelf_shown(
            request, "home_trending", context["trending"], strategy="global_trending"
        ),
    }
    return render(request, "catalog/home.html", context)


@require_safe
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The category's products (and its sub-categories'), sorted and filtered by price."""
    category = get_object_or_404(Category, slug=slug)
    form = ProductFilterForm(request.GET)
    context: dict[str, Any] = {"category": category, "form": form}
    if not form.is_valid():
        return render(request, "catalog/category_detail.html", context, status=400)
    filters = form.cleaned_data
    query = selectors.ProductQuery(
        category=category,
        min_price=filters["min_price"],
        max_price=filters["max_price"],
        ordering=filters["sort"] or None,
    )
    context["page"] = ProductQueryPaginator(query, PAGE_SIZE).get_page(request.GET.get("page"))
    context["trending"] = trending = serving.trending_products(
        window=serving.RECOMMENDATION_TRENDING_WINDOW, category=category, k=SHELF_LENGTH
    )
    if context["page"].number == 1:  # the shelf shows on the first page only
        context["impression"] = _shelf_shown(
            request, "category_trending", trending, strategy="category_trending"
        )
    return render(request, "catalog/category_detail.html", context)


@require_safe
def product_detail(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    product = selectors.product_detail(pk=pk)
    if slug != product.slug:
        return redirect(product, permanent=True)
    if request.method == "GET":
        _record(request, product, EventType.VIEW, metadata=_recommendation_click(request))
    context = {
        "product": product,
        "quantity_form": QuantityForm(initial={"quantity": 1}),
        "similar": serving.similar_products(product=product, k=SHELF_LENGTH),
        "recently_viewed": _recently_viewed(request.visitor_id, exclude=product.pk),  # type: ignore[attr-defined]
        "review_form": ReviewForm(),
        "bought_together": serving.bought_together(product=product, k=BOUGHT_TOGETHER_LENGTH),
    }
    bought_together = context["bought_together"] if product.in_stock else {"items": []}
    context["impressions"] = {
        "product_similar": _shelf_shown(request, "product_similar", context["similar"]),
        "product_recent": _shelf_shown(
            request, "product_recent", {"items": context["recently_viewed"], "strategy": "history"}
        ),
        BOUGHT_TOGETHER_WIDGET: _shelf_shown(request, BOUGHT_TOGETHER_WIDGET, bought_together),
    }
    return render(request, "catalog/product_detail.html", context)


def _shelf_shown(
    request: HttpRequest,
    widget: str,
    shelf: Any,
    assigned: Assignment | None = None,
    *,
    strategy: str = "",
) -> str | None:
    """Record a shelf the page shows (nothing for an empty or absent one), with the
    experiment's variant it shows; its impression id goes on the shelf's links, so the clicks
    and what follows are attributed to it."""
    products = [item["product"]["id"] for item in (shelf or {}).get("items", [])]
    if not products:
        return None
    return impression_record(
        Shown(
            surface=widget,
            products=products,
            visitor=request.visitor_id,  # type: ignore[attr-defined]
            strategy=strategy or str(shelf.get("strategy", "")),
            session_id=request.session.session_key or "",
            experiment=assigned.experiment if assigned else "",
            variant=assigned.variant if assigned else "",
        )
    )


@require_POST
@login_required
def review_add(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product.objects.active(), pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a rating from 1 to 5 stars (and at most 2,000 characters).")
        return redirect(product)
    try:
        review_create(
            product=product,
            user=request.user,  # type: ignore[arg-type]
            visitor_id=_visitor_pk(request),
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"].strip(),
        )
    except ReviewError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Thank you for your review.")
    return redirect(product)


def _visitor_pk(request: HttpRequest) -> int:
    """The shopper's Visitor row (created on their first order or review)."""
    visitor: str = request.visitor_id  # type: ignore[attr-defined]
    return visitor_ids_get_or_create(external_ids=[visitor])[visitor]


def _record(request: HttpRequest, product: Product, event_type: EventType, **extra: Any) -> None:
    """One of the shopper's events, with the session it happened in."""
    if request.session.session_key is None:
        request.session.save()
    storefront_event_record(
        visitor=request.visitor_id,  # type: ignore[attr-defined]
        product_id=product.pk,
        event_type=event_type,
        session_id=request.session.session_key or "",
        **extra,
    )


def _cart(request: HttpRequest) -> MutableMapping[str, Any]:
    return shopper_cart_data(session=request.session, user=request.user)


def _cart_change(request: HttpRequest, change: Callable[[MutableMapping[str, Any]], T]) -> T:
    return shopper_cart_change(session=request.session, user=request.user, change=change)


@require_safe
def cart_detail(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/cart.html", {"cart": cart_read(_cart(request))})


@require_POST
def cart_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add the chosen quantity of a product to what the cart already holds."""
    product = get_object_or_404(Product.objects.active(), pk=pk)
    form = QuantityForm(request.POST)
    if not form.is_valid() or form.cleaned_data["quantity"] < 1:
        messages.error(request, "Choose how many to add (at least 1).")
        return redirect(product)
    try:
        quantity = form.cleaned_data["quantity"]
        _cart_change(request, lambda cart: cart_increase(cart, product=product, by=quantity))
    except CartError as error:
        messages.error(request, str(error))
        return redirect(product)
    _record(request, product, EventType.ADD_TO_CART)
    messages.success(request, f"{product.name} is in your cart.")
    return redirect("catalog:cart")


@require_POST
def cart_add_together(request: HttpRequest, pk: int) -> HttpResponse:
    """One of each product ticked in a product's "Frequently bought together" (the product
    itself included), in one click; what cannot be added is said, the rest is added."""
    product = get_object_or_404(Product, pk=pk)
    form = BoughtTogetherForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tick the products to add.")
        return redirect(product)
    added = []
    for chosen in form.cleaned_data["products"]:
        try:
            _cart_change(request, partial(cart_increase, product=chosen, by=1))
        except CartError as error:
            messages.error(request, str(error))
            continue
        shelf = {"rec": BOUGHT_TOGETHER_WIDGET} | _impression_of(request.POST.get("rid", ""))
        _record(request, chosen, EventType.ADD_TO_CART, metadata=shelf)
        added.append(chosen.name)
    if added:
        messages.success(request, f"Added to your cart: {', '.join(added)}.")
    return redirect("catalog:cart")


@require_POST
def cart_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a line's quantity (0 removes it)."""
    product = get_object_or_404(Product, pk=pk)
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{product.name}: choose a quantity from 0 to {MAX_QUANTITY}.")
        return redirect("catalog:cart")
    try:
        quantity = form.cleaned_data["quantity"]
        _cart_change(request, lambda cart: cart_set(cart, product=product, quantity=quantity))
    except CartError as error:
        messages.error(request, str(error))
    return redirect("catalog:cart")


def _recently_viewed(visitor: str, *, exclude: int) -> list[dict[str, object]]:
    """The visitor's own last viewed products that can be shown, as shelf items."""
    viewed = recently_viewed(visitor=visitor, limit=SHELF_LENGTH, exclude=exclude)
    cards, available = selectors.product_cards_available(viewed)
    return [{"product": cards[p]} for p in viewed if p in available]


def _recommendation_click(request: HttpRequest) -> dict[str, str]:
    """The widget and strategy of the recommendation a shopper clicked to get here, if any."""
    widget = request.GET.get("rec", "")
    if WIDGET.fullmatch(widget) is None:
        return {}
    strategy = request.GET.get("strategy", "")
    known = strategy in serving.RecommendationStrategy.values
    click = {"rec": widget, "strategy": strategy} if known else {"rec": widget}
    return click | _impression_of(request.GET.get("rid", ""))


def _impression_of(value: str) -> dict[str, str]:
    """The `recommendation_id` of the shelf a shopper acted from, if the value is one."""
    return {RECOMMENDATION_ID: value} if IMPRESSION_ID.fullmatch(value) else {}


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """Full-text search (typos forgiven) with category and price filters; with nothing found,
    the trending products instead. The results are the same for everyone who asks the same
    thing: they are rendered once per catalog change and served from the cache."""
    content = cache.cached(
        cache.SEARCH,
        "page-with-shelf",
        _parameters_digest(request),
        timeout=settings.CACHE_TTL_SEARCH,
        compute=lambda: _search_content(request),
        depends_on=(cache.TRENDING,),
    )
    query = request.GET.get("q", "").strip()
    if content is None:
        form = SearchForm(request.GET)
        form.is_valid()
        return render(request, "catalog/search.html", {"form": form, "query": query}, status=400)
    html, shelf = content
    if shelf:
        # The cached page is everyone's: each showing of its shelf is an impression of its own.
        shown = _shelf_shown(request, "search_empty_trending", shelf, strategy="global_trending")
        html = html.replace(IMPRESSION_MARK, shown or "")
    # Rendered by our own template, escaped there.
    context = {"content": mark_safe(html), "query": query}  # noqa: S308
    return render(request, "catalog/search.html", context)


def _parameters_digest(request: HttpRequest) -> str:
    """The same for the same parameters, whatever their order."""
    asked = urlencode(
        sorted((key, value) for key, values in request.GET.lists() for value in values)
    )
    return hashlib.blake2b(asked.encode(), digest_size=16).hexdigest()


def _search_content(request: HttpRequest) -> tuple[str, dict[str, Any] | None] | None:
    """The results part of the search page and the trending shelf it shows when nothing
    matches (its links carry IMPRESSION_MARK for the impression id of each showing), or None
    if the parameters are not valid."""
    form = SearchForm(request.GET)
    if not form.is_valid():
        return None
    filters = form.cleaned_data
    query = selectors.ProductQuery(
        search=filters["q"],
        category=filters["category"],
        min_price=filters["min_price"],
        max_price=filters["max_price"],
        ordering=filters["sort"] or None,
    )
    page = ProductQueryPaginator(query, PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, object] = {"form": form, "page": page, "query": filters["q"]}
    shelf = None
    if not page.object_list:
        shelf = context["trending"] = dict(
            serving.trending_products(
                window=serving.RECOMMENDATION_TRENDING_WINDOW, category=None, k=SHELF_LENGTH
            )
        )
        context["impression"] = IMPRESSION_MARK
    return render_to_string("catalog/search_content.html", context, request=request), shelf


@require_safe
@cache_control(public=True, max_age=60 * 60 * 24 * 365, immutable=True)
def placeholder_image(request: HttpRequest, theme: str, key: str) -> HttpResponse:
    return HttpResponse(placeholder_svg(theme=theme, key=key), content_type="image/svg+xml")


CHECKOUT_TOKEN_SESSION_KEY = "checkout_token"  # noqa: S105 (a session key, not a secret)


@require_http_methods(["GET", "HEAD", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """The checkout form (GET) and placing the order (POST). Each form shown carries a fresh
    token, so a double submission of one form places one order."""
    cart = cart_read(_cart(request))
    if not cart.lines:
        messages.info(request, "Your cart is empty.")
        return redirect("catalog:cart")
    if request.method == "POST":
        return _checkout_submit(request, cart)
    request.session[CHECKOUT_TOKEN_SESSION_KEY] = token = uuid.uuid4().hex
    user = request.user
    initial = {"token": token}
    if user.is_authenticated:
        initial |= {"full_name": user.get_full_name(), "email": user.email}
    return _checkout_page(request, cart, CheckoutForm(initial=initial))


def _checkout_submit(request: HttpRequest, cart: Cart) -> HttpResponse:
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _checkout_page(request, cart, form, status=400)
    if form.cleaned_data["token"] != request.session.get(CHECKOUT_TOKEN_SESSION_KEY):
        messages.error(request, "This checkout form has expired: please check your order again.")
        return redirect("catalog:checkout")
    if request.session.session_key is None:
        request.session.save()
    try:
        placed = order_place(
            checkout_token=form.cleaned_data["token"],
            quantities=cart_quantities(_cart(request)),
            details=form.details(),
            visitor_id=_visitor_pk(request),
            user=request.user if request.user.is_authenticated else None,
            session_id=request.session.session_key or "",
        )
    except CheckoutError as error:
        for problem in error.problems:
            messages.error(request, problem)
        return redirect("catalog:cart")
    order = placed.order
    _cart_change(request, cart_clear)
    placed_here = request.session.get(ORDERS_PLACED_SESSION_KEY, [])
    if order.number not in placed_here:
        request.session[ORDERS_PLACED_SESSION_KEY] = [*placed_here, order.number][-20:]
    return redirect(order)


def _checkout_page(
    request: HttpRequest, cart: Cart, form: CheckoutForm, status: int = 200
) -> HttpResponse:
    return render(request, "catalog/checkout.html", {"cart": cart, "form": form}, status=status)


@require_safe
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = selectors.order_visible(
        number=number,
        user=request.user,
        placed_here=request.session.get(ORDERS_PLACED_SESSION_KEY, []),
    )
    return render(request, "catalog/order_detail.html", {"order": order})
