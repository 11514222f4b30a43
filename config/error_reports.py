"""Error reports (Django's DEBUG page, error mails to ADMINS) without card numbers.

A report quotes the request (query string, POST data, headers, cookies), the exception's message
and every frame's local variables: all of it may hold what someone typed. The filter redacts each
of those parts; the reporter redacts the rendered report as a whole as well (the exception value,
the URL and anything else a template prints).
"""

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter
from django.views.debug import pprint as show

from core.redaction import redacted


def _redact(value):
    return redacted(value) if isinstance(value, str) else value


class _Shown:
    """A frame variable as the report prints it (its repr), already redacted."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter (passwords, keys, sensitive_variables) plus: no card number anywhere."""

    def get_safe_request_meta(self, request):
        return {key: _redact(value) for key, value in super().get_safe_request_meta(request).items()}

    def get_safe_cookies(self, request):
        return {key: _redact(value) for key, value in super().get_safe_cookies(request).items()}

    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if hasattr(params, "lists"):  # a QueryDict / MultiValueDict
            clean = params.copy()
            for key, values in params.lists():
                clean.setlist(key, [_redact(value) for value in values])
            return clean
        return {key: _redact(value) for key, value in params.items()}

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, _Shown(redacted(show(value))))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class RedactingExceptionReporter(ExceptionReporter):
    def get_traceback_data(self):
        data = super().get_traceback_data()
        if "request_GET_items" in data:
            data["request_GET_items"] = [(_redact(key), _redact(value)) for key, value in data["request_GET_items"]]
        for key in ("request_insecure_uri", "exception_value"):
            if key in data:
                data[key] = _redact(data[key])
        return data

    def get_traceback_html(self):
        return redacted(super().get_traceback_html())

    def get_traceback_text(self):
        return redacted(super().get_traceback_text())
