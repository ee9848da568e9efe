from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from catalog.api import CategoryTreeView, ProductDetailView, ProductListView
from recommender.api import (
    ExperimentResultsView,
    MerchandisingRulesView,
    MerchandisingRuleView,
    RecommendationsView,
    SimilarProductsView,
    TrendingView,
)
from shopsmart.accounts.api import (
    LoginView,
    LogoutView,
    MeView,
    PasswordResetConfirmView,
    PasswordResetView,
    SignupView,
    VerifyEmailResendView,
    VerifyEmailView,
)
from shopsmart.accounts.cart_api import CartLineView, CartView
from shopsmart.accounts.orders_api import OrderCancelView, OrdersView, OrderView
from shopsmart.api.views import CacheFlushView, HealthView, PingView
from shopsmart.sellers.api import (
    SellerFiguresView,
    SellerOrderLinesView,
    SellerProductsView,
    SellerProductView,
)
from tracking.api import EventsView

app_name = "api"

urlpatterns = [
    path("products", ProductListView.as_view(), name="product_list"),
    path("products/<int:pk>", ProductDetailView.as_view(), name="product_detail"),
    path("products/<int:pk>/similar", SimilarProductsView.as_view(), name="product_similar"),
    path("categories", CategoryTreeView.as_view(), name="category_tree"),
    path("trending", TrendingView.as_view(), name="trending"),
    path("recommendations", RecommendationsView.as_view(), name="recommendations"),
    path("events", EventsView.as_view(), name="events"),
    path("merchandising/rules", MerchandisingRulesView.as_view(), name="merchandising_rules"),
    path(
        "merchandising/rules/<int:pk>",
        MerchandisingRuleView.as_view(),
        name="merchandising_rule",
    ),
    path(
        "experiments/<slug:slug>/results",
        ExperimentResultsView.as_view(),
        name="experiment_results",
    ),
    path("auth/signup", SignupView.as_view(), name="auth_signup"),
    path("auth/login", LoginView.as_view(), name="auth_login"),
    path("auth/logout", LogoutView.as_view(), name="auth_logout"),
    path("auth/password/reset", PasswordResetView.as_view(), name="auth_password_reset"),
    path(
        "auth/password/reset/confirm",
        PasswordResetConfirmView.as_view(),
        name="auth_password_reset_confirm",
    ),
    path("auth/verify-email", VerifyEmailView.as_view(), name="auth_verify_email"),
    path(
        "auth/verify-email/resend",
        VerifyEmailResendView.as_view(),
        name="auth_verify_email_resend",
    ),
    path("me", MeView.as_view(), name="me"),
    path("seller/products", SellerProductsView.as_view(), name="seller_products"),
    path("seller/products/<int:pk>", SellerProductView.as_view(), name="seller_product"),
    path("seller/order-lines", SellerOrderLinesView.as_view(), name="seller_order_lines"),
    path("seller/figures", SellerFiguresView.as_view(), name="seller_figures"),
    path("cart", CartView.as_view(), name="cart"),
    path("cart/<int:product>", CartLineView.as_view(), name="cart_line"),
    path("orders", OrdersView.as_view(), name="orders"),
    path("orders/<str:number>", OrderView.as_view(), name="order"),
    path("orders/<str:number>/cancel", OrderCancelView.as_view(), name="order_cancel"),
    path("health", HealthView.as_view(), name="health"),
    path("ping", PingView.as_view(), name="ping"),
    path("cache/flush", CacheFlushView.as_view(), name="cache_flush"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
