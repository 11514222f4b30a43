import logging

from incidents.redaction import redacted


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
        message = record.getMessage()
        record.msg, record.args = redacted(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redacted(record.exc_text)
        if record.stack_info:
            record.stack_info = redacted(record.stack_info)
        return True


def install_redaction(logger: logging.Logger) -> None:
    """Add the redacting filter to every handler of `logger` that lacks it (loggers configured
    outside settings.LOGGING: gunicorn's, Celery's)."""
    for handler in logger.handlers:
        if not any(isinstance(existing, RedactCardNumbers) for existing in handler.filters):
            handler.addFilter(RedactCardNumbers())
