from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from shopsmart.metrics import metrics_view

admin.site.site_header = "ShopSmart administration"
admin.site.site_title = "ShopSmart admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("shopsmart.api.urls")),
    path("account/", include("shopsmart.accounts.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("metrics", metrics_view, name="metrics"),
    # Browsers ask for it on pages that name no icon (the admin's).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg")), name="favicon"),
    path("", include("catalog.urls")),
]
