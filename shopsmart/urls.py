from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from shopsmart.metrics import metrics_view

handler404 = "shopsmart.errors.page_not_found"
handler500 = "shopsmart.errors.server_error"

admin.site.site_header = "ShopSmart administration"
admin.site.site_title = "ShopSmart admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("shopsmart.api.urls")),
    path("account/", include("shopsmart.accounts.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("seller/", include("shopsmart.sellers.urls")),
    path("metrics", metrics_view, name="metrics"),
    # Browsers ask for it on pages that name no icon (the admin's).
    # (resolved per request: the hashed file name is known once collectstatic has run)
    path(
        "favicon.ico",
        RedirectView.as_view(url=lazy(static, str)("favicon.svg")),
        name="favicon",
    ),
    path("", include("shopsmart.storefront.urls")),
]
