from django.urls import path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign-list"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("campaigns/<int:pk>/confirm/", views.campaign_confirm, name="campaign-confirm"),
    path("campaigns/<int:pk>/dismiss/", views.campaign_dismiss, name="campaign-dismiss"),
    path("campaigns/<int:pk>/merge/", views.campaign_merge, name="campaign-merge"),
]
