from django.urls import path

from . import views

app_name = "breaches"
urlpatterns = [
    path("incidents/<int:pk>/breach/", views.mark_breach, name="incident-breach"),
    path("incidents/<int:pk>/obligations/<int:obligation_pk>/met/", views.obligation_met, name="obligation-met"),
    path("breaches/", views.breach_report, name="breach-report"),
]
