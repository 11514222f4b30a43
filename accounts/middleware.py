import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse

from . import sessions
from .access import FIRST_FACTOR, PUBLIC, access_level, is_background
from .services import has_confirmed_authenticator

SESSION_STARTED_KEY = "bulwark_session_started"
LAST_ACTIVE_KEY = "bulwark_last_active"
ACTIVITY_STAMP_SECONDS = 60


class AgentSessionMiddleware:
    """Ends sessions that must not go on: expired access, past the absolute limit, or idle too long.

    Idle means no request from the agent: a page polling on its own (views marked `background`)
    does not count, so a queue left open in an unattended tab still signs out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated:
            return None
        now = int(time.time())
        started = request.session.setdefault(SESSION_STARTED_KEY, now)
        last_active = request.session.get(LAST_ACTIVE_KEY, now)
        if user.access_expired:
            logout(request)
            messages.error(request, "Your access to Bulwark has ended. Ask a supervisor to extend it.")
        elif now - started > settings.SESSION_ABSOLUTE_SECONDS:
            logout(request)
            messages.info(request, "Your session reached its 12-hour limit. Please sign in again.")
        elif now - last_active > settings.SESSION_COOKIE_AGE:
            logout(request)
            messages.info(
                request, f"You were signed out after {settings.SESSION_COOKIE_AGE // 60} minutes without activity."
            )
        elif not is_background(view_func):
            # Stamped at most once a minute: the session (and its sliding expiry) is saved only
            # then, not on every request. Idleness is therefore measured to the minute.
            if now - last_active >= ACTIVITY_STAMP_SECONDS or LAST_ACTIVE_KEY not in request.session:
                request.session[LAST_ACTIVE_KEY] = now
            sessions.touch(request)
        return None


class RequireTwoFactorMiddleware:
    """Every view needs a verified second factor unless it is marked otherwise (see access.py).

    Runs after django-otp's OTPMiddleware, which sets request.user.is_verified().
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        level = access_level(view_func)
        if level == PUBLIC:
            return None
        user = request.user
        if not user.is_authenticated:
            if request.headers.get("HX-Request") == "true":
                # A fragment request: send the whole page to sign-in, not the form into the fragment.
                response = HttpResponse(status=204)
                response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
                return response
            return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
        if level == FIRST_FACTOR or user.is_verified():
            return None
        step = "accounts:verify" if has_confirmed_authenticator(user) else "accounts:enrol"
        return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
