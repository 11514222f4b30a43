"""No card number reaches a log, an error report or a URL the desk answers (issue 14, item 1)."""

import contextlib
import io
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from config.error_reports import RedactingExceptionReporter, RedactingExceptionReporterFilter
from config.logging import RedactCardNumbers
from tests.cardscan import holds_card
from tests.factories import IncidentFactory

CARD = "4111 1111 1111 1111"
DIGITS = "4111111111111111"
MARKER = "[card number removed, ending 1111]"
BASE_DIR = Path(__file__).resolve().parent.parent


def no_card(text: str) -> bool:
    return not holds_card(text, [DIGITS])


def _configured_handlers():
    loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            # pytest's own capturing, and handlers that write nothing
            if not type(handler).__module__.startswith("_pytest") and not isinstance(handler, logging.NullHandler):
                yield getattr(logger, "name", "root"), handler


def test_every_configured_handler_carries_the_redacting_filter():
    handlers = list(_configured_handlers())
    names = {name for name, _handler in handlers}
    assert {"root", "django", "django.server"} <= names
    missing = [
        (name, handler)
        for name, handler in handlers
        if not any(isinstance(f, RedactCardNumbers) for f in handler.filters)
    ]
    assert not missing


@pytest.fixture
def handler_output():
    """What the configured stream handlers write, captured from their streams."""
    buffer = io.StringIO()
    swapped = [(h, h.setStream(buffer)) for _name, h in _configured_handlers() if type(h) is logging.StreamHandler]
    yield buffer
    for handler, stream in swapped:
        handler.setStream(stream)


def test_log_messages_arguments_and_tracebacks_are_redacted(handler_output):
    log = logging.getLogger("bulwark.test")
    log.warning("customer typed %s into %s", CARD, "the search box")
    try:
        raise ValueError(f"bad value {CARD}")
    except ValueError:
        log.exception("failed on %s", f"order-{DIGITS}")
    output = handler_output.getvalue()
    assert "customer typed " + MARKER in output and "ValueError: bad value " + MARKER in output
    assert "order-" + MARKER in output
    assert no_card(output)


def test_runserver_access_lines_are_redacted(handler_output):
    # What django.core.servers.basehttp.WSGIRequestHandler.log_message logs for each request.
    request_line = f"GET /incidents/?q={quote(CARD)} HTTP/1.1"
    logging.getLogger("django.server").info(
        '"%s" %s %s', request_line, "303", "0", extra={"request": None, "server_time": "now", "status_code": 303}
    )
    output = handler_output.getvalue()
    assert "GET /incidents/?q=" + MARKER in output
    assert no_card(output)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_a_real_gunicorn_access_log_holds_no_card_number(tmp_path):
    """Gunicorn started as the Dockerfile starts it (config/gunicorn_conf.py), on loopback."""
    port = _free_port()
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "HTTPS": "0"}
    process = subprocess.Popen(
        [
            str(gunicorn),
            "--config",
            "config/gunicorn_conf.py",
            f"--bind=127.0.0.1:{port}",
            "--workers=1",
            f"--access-logfile={access_log}",
            f"--error-logfile={error_log}",
            "config.wsgi:application",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=10)
                break
            except OSError:  # not listening yet, or too slow to answer on a loaded machine
                if process.poll() is not None:
                    pytest.fail(f"gunicorn exited: {error_log.read_text()}")
                time.sleep(0.2)
        for query in (
            urlencode({"q": CARD}),
            "q=" + quote(CARD),
            "q=" + DIGITS,
            "q=" + quote("4111\u200b1111.1111/1111"),
        ):
            request = urllib.request.Request(f"{base}/incidents/?{query}")
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=30)
        time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(15)
    lines = access_log.read_text()
    assert lines.count("/incidents/?q=") >= 4, lines
    assert "GET /incidents/?q=" + MARKER in lines
    assert no_card(lines), lines
    assert no_card(error_log.read_text())


def _report(request):
    typed = f"card {CARD}"  # a frame variable
    try:
        raise RuntimeError(f"could not save {typed}")
    except RuntimeError:
        return RedactingExceptionReporter(request, *sys.exc_info())


def _hostile_request():
    return RequestFactory().post(
        f"/incidents/?q={quote(CARD)}", {"summary": CARD, "note": f"x-{DIGITS}"}, HTTP_USER_AGENT=f"agent {CARD}"
    )


def test_error_reports_hold_no_card_number():
    request = _hostile_request()
    reporter = _report(request)
    html, text = reporter.get_traceback_html(), reporter.get_traceback_text()
    assert "RuntimeError" in text and MARKER in text and "typed" in text
    assert no_card(html) and no_card(text)


def test_the_reporter_filter_redacts_each_part_of_the_request():
    request = _hostile_request()
    request.COOKIES["pref"] = CARD
    report_filter = RedactingExceptionReporterFilter()
    post = report_filter.get_post_parameters(request)
    assert post["summary"] == MARKER and post["note"] == "x-" + MARKER
    assert report_filter.get_safe_request_meta(request)["HTTP_USER_AGENT"] == "agent " + MARKER
    assert report_filter.get_safe_cookies(request)["pref"] == MARKER


def test_error_mails_to_the_admins_hold_no_card_number(settings):
    settings.ADMINS = [("Ops", "ops@example.org")]
    mail.outbox.clear()
    request = _hostile_request()
    try:
        raise RuntimeError(f"could not save {CARD}")
    except RuntimeError:
        logging.getLogger("django.request").error(
            "Internal Server Error: %s",
            f"/incidents/{DIGITS}/",
            exc_info=True,
            extra={"status_code": 500, "request": request},
        )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    parts = [message.subject, message.body, *(content for content, _type in message.alternatives)]
    assert "Internal Server Error" in message.subject
    assert all(no_card(part) for part in parts)


@pytest.mark.django_db
def test_a_search_with_a_card_number_is_redirected_to_the_redacted_search(agent, verified_client):
    client = verified_client(agent)
    incident = IncidentFactory(summary=f"Paid with {CARD} yesterday", opened_by=agent)
    url = reverse("incidents:incident-list")
    response = client.get(url, {"q": f"{CARD}", "status": "open"})
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith(url + "?") and no_card(location) and "ending+1111" in location
    page = client.get(location)
    assert page.status_code == 200
    assert incident.reference in page.content.decode()  # the redacted search finds the incident
    assert no_card(page.content.decode())


@pytest.mark.django_db
def test_an_ip_search_with_a_card_number_is_redirected_and_answers_without_error(agent, verified_client):
    client = verified_client(agent)
    response = client.get(reverse("incidents:ip-search"), {"ip": "4111-1111-1111-1111"})
    assert response.status_code == 303 and no_card(response["Location"])
    page = client.get(response["Location"])
    assert page.status_code == 200 and no_card(page.content.decode())


@pytest.mark.django_db
def test_ordinary_searches_are_not_redirected(agent, verified_client):
    client = verified_client(agent)
    assert client.get(reverse("incidents:incident-list"), {"q": "123456789 987654321"}).status_code == 200


def test_celery_worker_and_beat_handlers_get_the_filter():
    """Celery sets up its own handlers (not settings.LOGGING); its setup signals add the filter."""
    from celery.signals import after_setup_logger, after_setup_task_logger

    for signal in (after_setup_logger, after_setup_task_logger):
        stream = io.StringIO()
        logger = logging.getLogger(f"tests.celery.{signal.name}")
        logger.propagate = False
        logger.addHandler(logging.StreamHandler(stream))
        signal.send(sender=None, logger=logger, loglevel=logging.INFO, logfile=None, format="", colorize=False)
        logger.warning("task failed for %s", CARD)
        assert stream.getvalue() == f"task failed for {MARKER}\n"
