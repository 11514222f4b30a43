import logging


class SingleLineFormatter(logging.Formatter):
    """One record, one line: newlines in a message (perhaps from user input) are escaped, so a log
    line can never be forged by text an agent or customer typed."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        head, sep, rest = text.partition("\nTraceback")  # keep tracebacks readable
        head = head.replace("\r", "\\r").replace("\n", "\\n")
        return head + sep + rest
