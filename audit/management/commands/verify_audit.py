"""python manage.py verify_audit — prove the audit trail intact, or name its first broken entry."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit import anchors, services
from audit.models import AuditAction
from audit.verification import verify_chain


class Command(BaseCommand):
    help = (
        "Walk the audit chain, recompute every hash, check every link, every anchor and every "
        "field-change (auditlog) entry."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000, help="entries read per query (default 5000)")
        parser.add_argument("--anchors", dest="anchor_file", help="anchor file (default: settings.AUDIT_ANCHOR_PATH)")
        parser.add_argument(
            "--no-anchors",
            action="store_true",
            help="check the chain against itself only, without anchors (with DEBUG off, a missing anchor "
            "file is otherwise a failure: without anchors, entries cut from the end go unnoticed)",
        )
        parser.add_argument(
            "--no-record", action="store_true", help="do not append an audit.verified entry (read-only database role)"
        )

    def handle(self, *args, batch_size: int, anchor_file: str | None, no_anchors: bool, no_record: bool, **options):
        path = Path(anchor_file) if anchor_file else anchors.anchor_path()
        anchor_list = []
        if not no_anchors:
            try:
                anchor_list = list(anchors.read_anchors(path))
            except ValueError as exc:
                raise CommandError(str(exc), returncode=2) from exc
        max_age = timedelta(seconds=settings.AUDIT_ANCHOR_MAX_AGE_SECONDS) if anchor_list else None
        result = verify_chain(
            anchor_list,
            batch_size=batch_size,
            max_unanchored_age=max_age,
            max_pending_age=timedelta(seconds=settings.AUDIT_MAX_PENDING_SECONDS),
        )
        self.stdout.write(
            f"Checked {result.checked} entries, {result.field_changes_checked} field changes and "
            f"{result.anchors_checked} anchors in {result.seconds:.2f} s ({result.per_second:,.0f} entries/s)."
        )
        if result.pending:
            self.stdout.write(
                f"{result.pending} entries wait to be chained (oldest {result.oldest_pending_seconds:.1f} s); "
                "they are not covered by this check yet."
            )
        unanchored = result.ok and not no_anchors and not anchor_list and result.head_seq > 0
        if no_anchors:
            self.stderr.write("warning: --no-anchors: the chain is checked against itself only.")
        elif unanchored and settings.DEBUG:
            self.stderr.write(f"warning: no anchors at {path}; the chain is checked against itself only.")
        refused = unanchored and not settings.DEBUG
        # Recorded only now, after the walk, so the new entry is never part of the range it reports on.
        if not no_record:
            services.record(
                AuditAction.AUDIT_VERIFIED,
                ok=result.ok and not refused,
                entries_checked=result.checked,
                field_changes_checked=result.field_changes_checked,
                anchors_checked=result.anchors_checked,
                head_seq=result.head_seq,
                pending=result.pending,
                broken_seq=result.broken_seq,
                broken_logentry=result.broken_logentry,
                reason=result.reason or ("no anchors" if refused else ""),
            )
        if result.stalled and result.broken_seq is None and result.broken_logentry is None:
            raise CommandError(f"Audit chain intact but NOT CURRENT: {result.stalled}", returncode=1)
        if not result.ok:
            where = (
                f"entry #{result.broken_seq}"
                if result.broken_seq is not None
                else f"field-change entry (auditlog) #{result.broken_logentry}"
            )
            raise CommandError(f"Audit chain BROKEN at {where}: {result.reason}", returncode=1)
        if refused:
            raise CommandError(
                f"No anchors at {path}: entries cut from the end of the chain would go unnoticed. Anchors are "
                "written after every append; check AUDIT_ANCHOR_PATH (the one the web and worker processes "
                "use), or pass --no-anchors to check the chain against itself only.",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact up to #{result.head_seq} ({result.head_hash[:16]}…).")
        )
