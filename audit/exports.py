"""Serializing entries for export: CSV (for spreadsheets) and JSON Lines (for tools).

Both carry prev_hash and hash, so whoever receives an export can check the links themselves.
"""

import csv
import json
from collections.abc import Iterable, Iterator

from . import chain
from .models import AuditEntry

COLUMNS = list(chain.STORED_FIELDS)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_dict(entry: AuditEntry) -> dict:
    return chain.entry_fields(entry) | {"hash": entry.hash}


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
