from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("verify/", views.verify, name="verify"),
    path("enrol/", views.enrol, name="enrol"),
    path("profile/", views.profile, name="profile"),
    path("password/", views.change_password, name="password-change"),
    path("backup-codes/", views.regenerate_backup_codes, name="backup-codes"),
    path("confirm/", views.reauth, name="reauth"),
    path("sessions/", views.session_list, name="session-list"),
    path("sessions/end/", views.session_end, name="session-end"),
    path("agents/", views.agent_list, name="agent-list"),
    path("agents/<int:pk>/end-sessions/", views.agent_end_sessions, name="agent-end-sessions"),
    path("agents/<int:pk>/reset-2fa/", views.agent_reset_two_factor, name="agent-reset-2fa"),
]
