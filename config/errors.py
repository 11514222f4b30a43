"""The server-error handler: a database that cannot be reached is an outage (503), not a bug (500).

Django calls `handler500` inside the `except` block that caught the exception, wherever it was
raised (a view, the session or agent middleware, a template), so `sys.exception()` is the error
itself. When it is the database refusing or dropping connections, agents get a page that says
what is happening and that what they saved before is safe, with a `Retry-After`; the health probe
gets its JSON 503, cookie or not. Every other error is the ordinary 500 page.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.urls import reverse
from django.views import defaults

RETRY_AFTER_SECONDS = 30


def database_unreachable(exc: BaseException | None) -> bool:
    """True if `exc`, or an error it was raised from, is the database being unreachable."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if not database_unreachable(sys.exception()):
        return defaults.server_error(request, template_name)
    if request.path == reverse("healthz"):
        response = JsonResponse({"status": "unavailable", "database": "error: unreachable"}, status=503)
    else:
        # Rendered without the request: the context processors would ask the database again.
        response = HttpResponse(loader.render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
