import logging

from config.logging import SingleLineFormatter


def test_newlines_in_user_input_cannot_forge_a_log_line():
    formatter = SingleLineFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord(
        "bulwark", logging.INFO, __file__, 1, "note from %s", ("x\nERROR admin signed in\r",), None
    )
    line = formatter.format(record)
    assert "\n" not in line and "\r" not in line
    assert line == "INFO note from x\\nERROR admin signed in\\r"


def test_configured_handlers_use_the_single_line_formatter():
    from django.conf import settings

    assert settings.LOGGING["formatters"]["plain"]["()"] == "config.logging.SingleLineFormatter"
