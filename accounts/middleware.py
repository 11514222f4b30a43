import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, resolve_url
from django.urls import reverse

from . import sessions
from .access import FIRST_FACTOR, PUBLIC, access_level
from .services import has_confirmed_authenticator

SESSION_STARTED_KEY = "bulwark_session_started"


class AgentSessionMiddleware:
    """Ends sessions that must not go on: expired access, or past the absolute session limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            started = request.session.setdefault(SESSION_STARTED_KEY, int(time.time()))
            if user.access_expired:
                logout(request)
                messages.error(request, "Your access to Bulwark has ended. Ask a supervisor to extend it.")
            elif time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                messages.info(request, "Your session reached its 12-hour limit. Please sign in again.")
            else:
                sessions.touch(request)
        return self.get_response(request)


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
            return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
        if level == FIRST_FACTOR or user.is_verified():
            return None
        step = "accounts:verify" if has_confirmed_authenticator(user) else "accounts:enrol"
        return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
