from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "ShopSmart administration"
admin.site.site_title = "ShopSmart admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("shopsmart.api.urls")),
    path("account/", include("shopsmart.accounts.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("", include("catalog.urls")),
]
