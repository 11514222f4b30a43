"""python manage.py verify_audit — prove the audit chain intact, or name its first broken entry."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit import anchors, services
from audit.models import AuditAction
from audit.verification import verify_chain


class Command(BaseCommand):
    help = "Walk the audit chain, recompute every hash, check every link and every anchor."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000, help="entries read per query (default 5000)")
        parser.add_argument("--anchors", dest="anchor_file", help="anchor file (default: settings.AUDIT_ANCHOR_PATH)")
        parser.add_argument(
            "--no-record", action="store_true", help="do not append an audit.verified entry (read-only database role)"
        )

    def handle(self, *args, batch_size: int, anchor_file: str | None, no_record: bool, **options):
        path = Path(anchor_file) if anchor_file else anchors.anchor_path()
        try:
            anchor_list = list(anchors.read_anchors(path))
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if not anchor_list:
            self.stderr.write(f"warning: no anchors at {path}; the chain is checked against itself only.")
        result = verify_chain(anchor_list, batch_size=batch_size)
        self.stdout.write(
            f"Checked {result.checked} entries and {result.anchors_checked} anchors in {result.seconds:.2f} s "
            f"({result.per_second:,.0f} entries/s)."
        )
        # Recorded only now, after the walk, so the new entry is never part of the range it reports on.
        if not no_record:
            services.record(
                AuditAction.AUDIT_VERIFIED,
                ok=result.ok,
                entries_checked=result.checked,
                anchors_checked=result.anchors_checked,
                head_seq=result.head_seq,
                broken_seq=result.broken_seq,
                reason=result.reason,
            )
        if not result.ok:
            raise CommandError(f"Audit chain BROKEN at entry #{result.broken_seq}: {result.reason}", returncode=1)
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact up to #{result.head_seq} ({result.head_hash[:16]}…).")
        )
