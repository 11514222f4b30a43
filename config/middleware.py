from urllib.parse import urlencode

from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponseRedirect

from core.redaction import redacted


class PermissionsPolicyMiddleware:
    """The desk needs no camera, microphone, location, payment or USB access: say so to the browser."""

    POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.POLICY)
        return response


class NulCharacterRejected(SuspiciousOperation):
    """A NUL character in the request: no text field can hold one (PostgreSQL refuses it)."""


class RefuseNulCharactersMiddleware:
    """Answer 400 to a request with a NUL character in its path, query, form data, cookies or headers.

    No person types a NUL; PostgreSQL cannot store one in text, and a NUL reaching a query raises a
    database error deep inside a view. One check here, before sessions, forms or views read the
    request, turns every such request into the ordinary "request refused" page, whatever the URL.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            raise NulCharacterRejected("The request contains a NUL character.")
        return self.get_response(request)


def _has_nul(request) -> bool:
    if "\x00" in request.path or "\x00" in request.path_info:
        return True
    headers = (value for key, value in request.META.items() if key.startswith("HTTP_") and isinstance(value, str))
    if any("\x00" in value for value in headers) or "\x00" in request.META.get("QUERY_STRING", ""):
        return True
    for data in (request.GET, request.COOKIES):
        if _mapping_has_nul(data):
            return True
    return request.method == "POST" and _mapping_has_nul(request.POST)


def _mapping_has_nul(data) -> bool:
    items = data.lists() if hasattr(data, "lists") else ((key, [value]) for key, value in data.items())
    return any(
        "\x00" in key or any("\x00" in value for value in values if isinstance(value, str)) for key, values in items
    )


class RedactCardNumbersInRequestMiddleware:
    """A GET whose query string holds a card number (typed into the incident search or the IP
    search) is answered with a 303 to the same URL with the number redacted: the page, the
    browser's history and every later log line see only the redacted search. The redacted search
    still works (stored text holds the same marker).

    Headers that are stored (User-Agent, Accept: sessions, the audit trail, sign-in attempts) are
    redacted here, once, so that whatever stores them and whatever looks them up again agree."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for header in ("HTTP_USER_AGENT", "HTTP_ACCEPT"):
            if header in request.META:
                request.META[header] = redacted(request.META[header])
        if request.method in ("GET", "HEAD") and request.META.get("QUERY_STRING"):
            query = request.GET
            clean = [(redacted(key), redacted(value)) for key, values in query.lists() for value in values]
            if clean != [(key, value) for key, values in query.lists() for value in values]:
                location = request.path + "?" + urlencode(clean)
                return HttpResponseRedirect(location, status=303)
        return self.get_response(request)
