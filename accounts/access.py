"""Who may reach a view. By default every view needs a verified second factor.

A view opts out explicitly with one of the markers below; tests/accounts/test_url_access.py
fails when a URL is added that is reachable without both factors and is not on its allow-list.
"""

import time
from collections.abc import Callable, Iterable
from functools import wraps
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

PUBLIC = "public"  # anyone, signed in or not: sign-in, sign-out, health check
FIRST_FACTOR = "first_factor"  # password accepted, second factor still to come: verify, enrol


def public(view):
    """Mark a view function or view class as reachable by anyone."""
    view.bulwark_access = PUBLIC
    return view


def first_factor_only(view: Callable) -> Callable:
    view.bulwark_access = FIRST_FACTOR
    return view


def background(view: Callable) -> Callable:
    """Mark a view the page calls on its own (polling): it does not count as the agent being active,
    so an unattended tab still signs out after the idle timeout."""
    view.bulwark_background = True
    return view


def is_background(view: Callable) -> bool:
    return getattr(view, "bulwark_background", False)


def access_level(view: Callable) -> str | None:
    """The marker on a view function, or on the class of a class-based view."""
    return getattr(view, "bulwark_access", None) or getattr(getattr(view, "view_class", None), "bulwark_access", None)


REAUTH_KEY = "bulwark_reauth_at"
REAUTH_SECONDS = 5 * 60


def recently_reauthenticated(request) -> bool:
    return time.time() - request.session.get(REAUTH_KEY, 0) < REAUTH_SECONDS


def reauth_required(view: Callable) -> Callable:
    """Sensitive actions need the password and a fresh code within the last five minutes.

    Without it the agent is sent to confirm, then back to the page they came from to submit again.
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if recently_reauthenticated(request):
            return view(request, *args, **kwargs)
        if request.method == "POST":
            referer = urlsplit(request.META.get("HTTP_REFERER", ""))
            same_host = referer.netloc in ("", request.get_host())
            back = (referer.path + (f"?{referer.query}" if referer.query else "")) if same_host else "/"
        else:
            back = request.get_full_path()
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = "/"
        messages.info(request, "This is a sensitive action: confirm it is you, then do it again.")
        return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': back})}")

    return wrapped


def role_required(roles: Iterable[str]) -> Callable:
    """Refuse (403) agents holding none of the roles."""
    roles = frozenset(roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_any_role(roles):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
