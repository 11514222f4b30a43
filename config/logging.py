import logging
from urllib.parse import unquote_plus

from core.redaction import contains_card_number, redacted


def redact_log_text(text: str) -> str:
    """`text` without card numbers, also where a URL hides one in percent-escapes: an access
    line quotes the raw request line ("GET /incidents/?q=4111%201111%20..."). Such a line is
    decoded only when the decoded text holds a card number (its line breaks then escaped)."""
    text = redacted(text)
    if "%" in text:
        decoded = unquote_plus(text)
        if decoded != text and contains_card_number(decoded):
            text = redacted(decoded).replace("\r", "\\r").replace("\n", "\\n")
    return text


class SingleLineFormatter(logging.Formatter):
    """One record, one line: newlines in a message (perhaps from user input) are escaped, so a log
    line can never be forged by text an agent or customer typed."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        head, sep, rest = text.partition("\nTraceback")  # keep tracebacks readable
        head = head.replace("\r", "\\r").replace("\n", "\\n")
        return head + sep + rest


class RedactCardNumbers(logging.Filter):
    """No card number reaches a log: installed on every handler (settings.LOGGING, gunicorn's
    loggers through config/gunicorn_conf.py, Celery's through config/celery.py).

    The message is formatted here (msg % args) and redacted, so what any formatter prints is the
    redacted text — a runserver or gunicorn access line with a card number in its query string
    included. A traceback is formatted and redacted too (exception messages quote input).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_log_text(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_log_text(record.stack_info)
        return True


def install_redaction(logger: logging.Logger) -> None:
    """Add the redacting filter to every handler of `logger` that lacks it (loggers configured
    outside settings.LOGGING: gunicorn's, Celery's)."""
    for handler in logger.handlers:
        if not any(isinstance(existing, RedactCardNumbers) for existing in handler.filters):
            handler.addFilter(RedactCardNumbers())
