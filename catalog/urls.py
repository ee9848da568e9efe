from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("c/<slug:slug>/", views.category_detail, name="category_detail"),
    path("p/<int:pk>/<slug:slug>/", views.product_detail, name="product_detail"),
    path(
        "img/placeholder/<slug:theme>/<slug:key>.svg",
        views.placeholder_image,
        name="placeholder_image",
    ),
]
