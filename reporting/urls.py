from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("metrics/", views.supervisor_metrics, name="metrics"),
    path("metrics/export.csv", views.supervisor_metrics_csv, name="metrics-csv"),
]
