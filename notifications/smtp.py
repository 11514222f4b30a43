"""One SMTP connection per worker thread, kept open and reused across emails.

`send` returns the moment the server has answered 250 to the message's DATA, so the caller knows
exactly when the email became the server's (and can mark it at once, before anything else). A
connection the server has dropped while idle is noticed at MAIL FROM, before any part of the
message is sent, and opened again once; any other failure closes it, and the next send reconnects.
"""

import smtplib
import ssl
import threading

from django.conf import settings

_local = threading.local()


def uses_smtp() -> bool:
    """Whether emails go over SMTP (the production setting), not to files or memory."""
    return settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"


def _params() -> tuple:
    return (
        settings.EMAIL_HOST,
        int(settings.EMAIL_PORT),
        settings.EMAIL_HOST_USER,
        settings.EMAIL_HOST_PASSWORD,
        bool(settings.EMAIL_USE_TLS),
        bool(settings.EMAIL_USE_SSL),
        settings.EMAIL_TIMEOUT,
    )


def _open(params) -> smtplib.SMTP:
    host, port, user, password, use_tls, use_ssl, timeout = params
    if use_ssl:
        conn = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = smtplib.SMTP(host, port, timeout=timeout)
    try:
        conn.ehlo()
        if use_tls:
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
        if user and password:
            conn.login(user, password)
    except BaseException:
        conn.close()
        raise
    return conn


def close() -> None:
    """Close this thread's connection (QUIT when the server still listens)."""
    conn, _local.conn = getattr(_local, "conn", None), None
    if conn is not None:
        try:
            conn.quit()
        except Exception:
            conn.close()


def _drop() -> None:
    conn, _local.conn = getattr(_local, "conn", None), None
    if conn is not None:
        conn.close()


def send(from_addr: str, to_addr: str, message: bytes) -> None:
    """Send one message on this thread's connection; returns once the server has accepted it (250).

    Raises smtplib's exceptions (or OSError) otherwise, as smtplib.SMTP.sendmail would.
    """
    params = _params()
    if getattr(_local, "params", None) != params:
        _drop()
        _local.params = params
    for attempt in (1, 2):
        if getattr(_local, "conn", None) is None:
            _local.conn = _open(params)
        conn = _local.conn
        try:
            code, answer = conn.mail(from_addr)
            break
        except (smtplib.SMTPServerDisconnected, OSError):
            _drop()  # dropped while idle: nothing of this message has left yet
            if attempt == 2:
                raise
    try:
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, answer, from_addr)
        code, answer = conn.rcpt(to_addr)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to_addr: (code, answer)})
        code, answer = conn.data(message)  # raises SMTPDataError if the server refuses to take DATA
        if code != 250:
            raise smtplib.SMTPDataError(code, answer)
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
        try:
            conn.rset()
        except Exception:
            _drop()
        raise
    except BaseException:
        _drop()
        raise
