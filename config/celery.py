"""The Celery application. Tasks run eagerly in-process when no broker is configured."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("bulwark", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_card_numbers(logger, **kwargs):
    """The worker's and beat's log handlers (Celery sets them up, not settings.LOGGING) carry the
    same card-number filter as every other handler."""
    from config.logging import install_redaction  # Celery loads this module before Django's settings

    install_redaction(logger)
