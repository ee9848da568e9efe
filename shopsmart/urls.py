from django.contrib import admin
from django.urls import include, path

from shopsmart.metrics import metrics_view

admin.site.site_header = "ShopSmart administration"
admin.site.site_title = "ShopSmart admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("shopsmart.api.urls")),
    path("account/", include("shopsmart.accounts.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("", include("catalog.urls")),
]
