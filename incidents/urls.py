from django.urls import path

from . import views

app_name = "incidents"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("incidents/", views.incident_list, name="incident-list"),
    path("incidents/new/", views.incident_create, name="incident-create"),
    path("customers/new/", views.customer_create, name="customer-create"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
    path("incidents/<int:pk>/history/", views.incident_history, name="incident-history"),
    path("incidents/<int:pk>/advance/", views.advance, name="incident-advance"),
    path("incidents/<int:pk>/changes/", views.record_change, name="incident-change"),
    path("incidents/<int:pk>/not-confirmed/", views.close_not_confirmed, name="incident-not-confirmed"),
    path("incidents/<int:pk>/reopen/", views.reopen, name="incident-reopen"),
    path("incidents/<int:pk>/verification/send/", views.send_code, name="verification-send"),
    path("incidents/<int:pk>/verification/send-previous/", views.send_code_previous, name="verification-send-previous"),
    path("incidents/<int:pk>/verification/send-override/", views.send_code_override, name="verification-send-override"),
    path("incidents/<int:pk>/verification/check/", views.check_code, name="verification-check"),
    path("incidents/<int:pk>/verification/override/", views.override_verification, name="verification-override"),
    path("incidents/<int:pk>/securing/", views.record_securing, name="incident-securing"),
    path("incidents/<int:pk>/findings/", views.record_findings, name="incident-findings"),
    path("incidents/<int:pk>/indicators/", views.add_indicators, name="incident-indicators"),
    path(
        "incidents/<int:pk>/indicators/<int:indicator_pk>/verdict/", views.indicator_verdict, name="indicator-verdict"
    ),
    path("incidents/<int:pk>/escalate/", views.escalate, name="incident-escalate"),
    path("incidents/<int:pk>/restrict/", views.restrict, name="incident-restrict"),
    path("incidents/<int:pk>/no-escalation/", views.no_escalation, name="incident-no-escalation"),
    path("incidents/<int:pk>/progress/", views.progress_update, name="incident-progress"),
    path("incidents/<int:pk>/notes/", views.add_note, name="incident-note"),
    path("incidents/<int:pk>/resolve/", views.resolve, name="incident-resolve"),
    path("incidents/<int:pk>/updates/<int:update_pk>/retry/", views.retry_update, name="update-retry"),
    path("incidents/<int:pk>/packet/", views.incident_packet, name="incident-packet"),
    path("incidents/<int:pk>/report/", views.incident_report, name="incident-report"),
    path("ip/", views.ip_search, name="ip-search"),
    path("queue/<str:team>/", views.queue, name="queue"),
    path("queue/<str:team>/items/", views.queue_items, name="queue-items"),
    path("escalations/<int:pk>/claim/", views.claim_escalation, name="escalation-claim"),
    path("escalations/<int:pk>/return/", views.return_escalation, name="escalation-return"),
    path("escalations/<int:pk>/resolve/", views.resolve_escalation, name="escalation-resolve"),
]
