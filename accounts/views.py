import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from . import services, sessions
from .access import REAUTH_KEY, first_factor_only, public, reauth_required, role_required
from .forms import EnrolmentForm, NewPasswordForm, ReauthForm, SignInForm, TokenForm
from .middleware import SESSION_STARTED_KEY
from .models import User
from .roles import AGENT_ADMIN_ROLES, Role


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    # Only local paths: anything else (or a bare word that redirect() would take for a view name) is ignored.
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _complete_second_factor(request, device) -> None:
    otp_login(request, device)
    # A new session key once the second factor is in, as after the password.
    request.session.cycle_key()


@public
class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True  # already past the password: on to the code

    def form_valid(self, form):
        response = super().form_valid(form)
        # The 12-hour limit counts from the password step (see AgentSessionMiddleware).
        self.request.session[SESSION_STARTED_KEY] = int(time.time())
        return response

    def get_success_url(self):
        is_verified = getattr(self.request.user, "is_verified", None)
        if is_verified and is_verified():
            return _next_url(self.request)
        return f"{reverse('accounts:verify')}?{urlencode({'next': _next_url(self.request)})}"


@public
class SignOutView(auth_views.LogoutView):
    pass


@first_factor_only
def verify(request):
    """Second step of sign-in: a code from the authenticator app or a backup code."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    if not services.has_confirmed_authenticator(request.user):
        return redirect(f"{reverse('accounts:enrol')}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm(request.POST or None)
    if form.is_valid():
        try:
            device = services.verify_second_factor(request.user, form.cleaned_data["token"])
        except services.TwoFactorError as exc:
            form.add_error("token", str(exc))
        else:
            _complete_second_factor(request, device)
            if device.name == services.BACKUP_DEVICE_NAME:
                left = services.backup_codes_left(request.user)
                messages.warning(request, f"You signed in with a backup code; {left} left.")
            return redirect(_next_url(request))
    return render(request, "accounts/verify.html", {"form": form, "next": _next_url(request)})


@first_factor_only
def enrol(request):
    """First sign-in: set up an authenticator app, confirm it, receive backup codes once."""
    if services.has_confirmed_authenticator(request.user):
        if request.user.is_verified():
            messages.info(request, "Your authenticator is already set up.")
            return redirect(settings.LOGIN_REDIRECT_URL)
        return redirect(f"{reverse('accounts:verify')}?{urlencode({'next': _next_url(request)})}")
    form = EnrolmentForm(request.POST or None)
    if form.is_valid():
        try:
            device, codes = services.confirm_enrolment(request.user, form.cleaned_data["token"])
        except services.TwoFactorError as exc:
            form.add_error("token", str(exc))
        else:
            _complete_second_factor(request, device)
            return render(
                request, "accounts/backup_codes.html", {"codes": codes, "next": _next_url(request), "first_time": True}
            )
    enrolment = services.start_enrolment(request.user)
    return render(request, "accounts/enrol.html", {"form": form, "enrolment": enrolment, "next": _next_url(request)})


def reauth(request):
    """Confirm it is really the agent (password and a fresh code) before a sensitive action."""
    form = ReauthForm(request.POST or None)
    if form.is_valid():
        try:
            services.reauthenticate(
                request.user, password=form.cleaned_data["password"], token=form.cleaned_data["token"]
            )
        except services.TwoFactorError as exc:
            form.add_error(None, str(exc))
        else:
            request.session[REAUTH_KEY] = int(time.time())
            messages.success(
                request, "Confirmed. For the next five minutes sensitive actions need no new confirmation."
            )
            return redirect(_next_url(request))
    return render(request, "accounts/reauth.html", {"form": form, "next": _next_url(request)})


def session_list(request):
    own_sid = request.session.get(sessions.SID_KEY)
    return render(
        request, "accounts/session_list.html", {"sessions": sessions.active_sessions(request.user), "own_sid": own_sid}
    )


@require_POST
def session_end(request):
    """End one of my sessions, or all the others."""
    own_sid = request.session.get(sessions.SID_KEY)
    if request.POST.get("sid"):
        ended = sessions.end_sessions(request.user, actor=request.user, sid=request.POST["sid"], keep_sid=own_sid)
    else:
        ended = sessions.end_sessions(request.user, actor=request.user, keep_sid=own_sid)
    messages.success(request, f"Ended {ended} session{'s' if ended != 1 else ''}.")
    return redirect("accounts:session-list")


@require_POST
@role_required(AGENT_ADMIN_ROLES)
def agent_end_sessions(request, pk):
    agent = get_object_or_404(User, pk=pk)
    keep = request.session.get(sessions.SID_KEY) if agent == request.user else None
    ended = sessions.end_sessions(agent, actor=request.user, keep_sid=keep)
    messages.success(request, f"Ended {ended} session{'s' if ended != 1 else ''} of {agent}.")
    return redirect("accounts:agent-list")


@require_POST
@reauth_required
def regenerate_backup_codes(request):
    codes = services.issue_backup_codes(request.user)
    return render(request, "accounts/backup_codes.html", {"codes": codes, "next": reverse("accounts:profile")})


def profile(request):
    return render(
        request,
        "accounts/profile.html",
        {"backup_codes_left": services.backup_codes_left(request.user)},
    )


@reauth_required
def change_password(request):
    """The agent sets a new password after confirming it is them; their other sessions end."""
    form = NewPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        ended = services.change_password(
            request.user,
            new_password=form.cleaned_data["new_password1"],
            keep_sid=request.session.get(sessions.SID_KEY),
        )
        update_session_auth_hash(request, request.user)  # this browser stays signed in
        others = f"{ended} other session{'s' if ended != 1 else ''}"
        messages.success(request, f"Your password was changed; {others} signed out.")
        return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form}, status=400 if form.errors else 200)


@role_required(AGENT_ADMIN_ROLES)
def agent_list(request):
    agents = (
        User.objects.prefetch_related(Prefetch("groups"))
        .annotate(authenticators=Count("totpdevice", filter=Q(totpdevice__confirmed=True), distinct=True))
        .order_by("full_name", "email")
    )
    return render(request, "accounts/agent_list.html", {"agents": agents, "roles": Role})


@require_POST
@role_required(AGENT_ADMIN_ROLES)
@reauth_required
def agent_reset_two_factor(request, pk):
    agent = get_object_or_404(User, pk=pk)
    services.reset_two_factor(agent, actor=request.user)
    messages.success(request, f"Two-factor authentication of {agent} was reset; they enrol again at next sign-in.")
    return redirect("accounts:agent-list")
