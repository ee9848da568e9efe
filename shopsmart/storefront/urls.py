from django.urls import path

from shopsmart.storefront import views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/<int:pk>/", views.cart_add, name="cart_add"),
    path("cart/add-together/<int:pk>/", views.cart_add_together, name="cart_add_together"),
    path("cart/<int:pk>/", views.cart_update, name="cart_update"),
    path("p/<int:pk>/review/", views.review_add, name="review_add"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<str:number>/", views.order_detail, name="order_detail"),
    path("c/<slug:slug>/", views.category_detail, name="category_detail"),
    path("p/<int:pk>/<slug:slug>/", views.product_detail, name="product_detail"),
    path(
        "img/placeholder/<slug:theme>/<slug:key>.svg",
        views.placeholder_image,
        name="placeholder_image",
    ),
]
