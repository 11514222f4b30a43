"""Serializing entries for export: CSV (for spreadsheets) and JSON Lines (for tools).

Both carry prev_hash and hash, so whoever receives an export can check the links themselves.
"""

import csv
import json
from collections.abc import Iterable, Iterator

from .models import AuditEntry

COLUMNS = [
    "seq",
    "created_at",
    "action",
    "actor_id",
    "actor_label",
    "target_type",
    "target_id",
    "incident_id",
    "customer_id",
    "ip_address",
    "user_agent",
    "request_id",
    "data",
    "prev_hash",
    "hash",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_dict(entry: AuditEntry) -> dict:
    return {
        "seq": entry.seq,
        "created_at": entry.created_at.isoformat(),
        "action": entry.action,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "incident_id": entry.incident_id,
        "customer_id": entry.customer_id,
        "ip_address": entry.ip_address,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    # A user agent or note starting with "=" must not become a formula in a spreadsheet.
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Line:
    def write(self, value: str) -> str:
        return value


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for entry in entries:
        row = as_dict(entry)
        yield writer.writerow([_cell(row[column]) for column in COLUMNS])


def jsonl_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    for entry in entries:
        yield json.dumps(as_dict(entry), ensure_ascii=False, sort_keys=True) + "\n"


FORMATS = {
    "csv": ("text/csv; charset=utf-8", csv_lines),
    "jsonl": ("application/x-ndjson; charset=utf-8", jsonl_lines),
}
