from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/<int:pk>/", views.cart_add, name="cart_add"),
    path("cart/<int:pk>/", views.cart_update, name="cart_update"),
    path("c/<slug:slug>/", views.category_detail, name="category_detail"),
    path("p/<int:pk>/<slug:slug>/", views.product_detail, name="product_detail"),
    path(
        "img/placeholder/<slug:theme>/<slug:key>.svg",
        views.placeholder_image,
        name="placeholder_image",
    ),
]
