"""Who may reach a view. By default every view needs a verified second factor.

A view opts out explicitly with one of the markers below; tests/accounts/test_url_access.py
fails when a URL is added that is reachable without both factors and is not on its allow-list.
"""

from collections.abc import Callable, Iterable
from functools import wraps

from django.core.exceptions import PermissionDenied

PUBLIC = "public"  # anyone, signed in or not: sign-in, sign-out, health check
FIRST_FACTOR = "first_factor"  # password accepted, second factor still to come: verify, enrol


def public(view):
    """Mark a view function or view class as reachable by anyone."""
    view.bulwark_access = PUBLIC
    return view


def first_factor_only(view: Callable) -> Callable:
    view.bulwark_access = FIRST_FACTOR
    return view


def access_level(view: Callable) -> str | None:
    """The marker on a view function, or on the class of a class-based view."""
    return getattr(view, "bulwark_access", None) or getattr(getattr(view, "view_class", None), "bulwark_access", None)


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
