from django.urls import path

from shopsmart.sellers import views

app_name = "sellers"

urlpatterns = [
    path("", views.products, name="products"),
    path("products/new/", views.product_new, name="product_new"),
    path("products/<int:pk>/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/withdraw/", views.product_withdraw, name="product_withdraw"),
    path("products/<int:pk>/relist/", views.product_relist, name="product_relist"),
    path("orders/", views.order_lines, name="order_lines"),
]
