from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("pipelines/", views.pipelines, name="pipelines"),
    path("pipelines/<str:kind>/run/", views.pipeline_run, name="pipeline_run"),
    path("caches/flush/", views.caches_flush, name="caches_flush"),
    path("experiments/", views.experiments, name="experiments"),
    path("experiments/<slug:slug>/", views.experiment_detail, name="experiment"),
]
