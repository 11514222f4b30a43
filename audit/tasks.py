"""Celery tasks of the audit trail: thin wrappers around audit.anchors and audit.sequencer."""

from celery import shared_task

from . import anchors, sequencer


@shared_task(name="audit.anchor_chain_head", ignore_result=True)
def anchor_chain_head() -> int | None:
    """Copy the chain head to the anchor sink (every 30 s, see CELERY_BEAT_SCHEDULE).

    Safe to run twice: a repeated anchor names the same (seq, hash) and verifies the same way.
    """
    anchor = anchors.write_anchor()
    return anchor.seq if anchor else None


@shared_task(name="audit.chain_pending", ignore_result=True)
def chain_pending() -> int:
    """Chain what requests left pending (AUDIT_SEQUENCER=background), every 10 s from beat.

    `run_audit_sequencer` does this within a second; this covers the time it is down or being
    restarted. Running beside it is safe: both take the chain lock (audit.sequencer).
    """
    return sequencer.chain_all()
