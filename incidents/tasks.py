"""Celery tasks: thin, idempotent wrappers that take ids."""

from celery import shared_task

from . import outbox

MAX_ATTEMPTS = 5


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1, acks_late=True)
def send_customer_update(self, update_id: int) -> str:
    final = self.request.retries >= self.max_retries or self.request.is_eager
    try:
        return outbox.deliver(update_id, final_attempt=final)
    except outbox.DeliveryError as exc:
        # Exponential back-off with jitter: ~2 s, 4 s, 8 s, 16 s.
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1), max_retries=self.max_retries) from exc
