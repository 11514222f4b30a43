"""Gunicorn settings for production: `gunicorn -c config/gunicorn_conf.py config.wsgi:application`.

Gunicorn configures its own loggers (gunicorn.error, gunicorn.access) outside Django's LOGGING;
`RedactingLogger` puts the card-number filter on each of their handlers, whatever the log flags
(--access-logfile, --error-logfile, syslog), so an access line never holds a card number typed
into a search box.
"""

import os

from gunicorn.glogging import Logger

from config.logging import install_redaction

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
accesslog = "-"
logger_class = "config.gunicorn_conf.RedactingLogger"


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            install_redaction(log)
