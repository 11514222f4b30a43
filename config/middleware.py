from urllib.parse import urlencode

from django.http import HttpResponseRedirect

from incidents.redaction import redacted


class PermissionsPolicyMiddleware:
    """The desk needs no camera, microphone, location, payment or USB access: say so to the browser."""

    POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.POLICY)
        return response


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
