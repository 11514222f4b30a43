"""Where an audited action came from: client IP, user agent and a request id.

This is request *metadata* only; the acting agent is always passed explicitly to services.
Celery tasks run outside a request and record an empty context (or set their own).
"""

import contextvars
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip_address: str | None = None
    user_agent: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("audit_request", default=RequestContext())  # noqa: B039 (frozen dataclass)


def current() -> RequestContext:
    return _current.get()


def current_request_id() -> str | None:
    """django-auditlog's correlation id (AUDITLOG_CID_GETTER): our request id."""
    return _current.get().request_id or None


def bind(context: RequestContext) -> contextvars.Token:
    return _current.set(context)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID) and binds its origin for audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        token = bind(
            RequestContext(
                request_id=request.request_id,
                # The socket address: X-Forwarded-For is only trustworthy behind a proxy that
                # overwrites it, which a deployment must configure deliberately.
                ip_address=request.META.get("REMOTE_ADDR") or None,
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            )
        )
        try:
            response = self.get_response(request)
        finally:
            reset(token)
        response["X-Request-ID"] = request.request_id
        return response
