"""The bottom layer: what every other app may use, and nothing domain-specific.

Owns the application error type (errors), the card-number redactor (redaction) and the field types
that apply it at the storage boundary (fields), masking of personal data for audit entries
(masking), bidirectional-text isolation and the `isolate` template builtin (bidi), the overflow-safe
integer `in` lookup (lookups), form widgets rendered in Python (widgets) and keyset paging (paging).

Imports nothing of ours: only the standard library and Django (enforced by import-linter, see
pyproject.toml).
"""
