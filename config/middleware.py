from django.core.exceptions import SuspiciousOperation


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
