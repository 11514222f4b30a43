"""Model field types that keep card numbers out of storage, whatever writes the row.

The rule lives at the storage boundary, not in forms: every write path of the ORM — `save()`,
`QuerySet.update()`, `bulk_create()`, `bulk_update()`, the admin, the shell — turns a field value
into its database form with `get_prep_value()` (through `get_db_prep_save()`), and `save()` and
`bulk_create()` first call `pre_save()`. So:

- Free text (`RedactedCharField`, `RedactedTextField`, `RedactedJSONField`): card numbers are
  replaced by the redactor's marker in `get_prep_value()`; `pre_save()` writes the redacted value
  back on the instance, so what the caller holds after `save()` is what was stored. A `CharField`
  whose text grows past `max_length` through the marker is shortened to fit and ends with "…"
  (never a database error): see `fit()`.
- Values that must be an address or a reference (`CardFreeEmailField`, `CardFreeCharField`): a
  card number is refused with a clear message, never silently mangled (a mangled address sends
  every email astray). Forms and the admin refuse it through the field's validator; a write that
  skips validation is refused by `get_db_prep_save()` with `CardNumberRefused` and stores nothing.
  Lookups (a search box) are not refused: they store nothing.

Depends only on the redaction module, so it can move with it.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import expressions

from . import redaction
from .redaction import contains_card_number

ELLIPSIS = "…"
REFUSED_MESSAGE = "This must not contain a card number; enter it without one."


def fit(text: str, max_length: int | None) -> str:
    """`text` redacted, and no longer than `max_length`.

    The marker can be longer than the digits it replaces. When the redacted text no longer fits,
    it is cut and ends with "…". Cutting can make a new digit run at the end (the head of a longer
    number), so trailing digits and separators go before the "…" and the cut text is redacted
    again; if that still does not settle, the digits of the cut text are dropped (always safe).
    """
    return shorten(redaction.redacted(text), max_length)


def shorten(text: str, max_length: int | None) -> str:
    """Already redacted `text`, cut to `max_length` as `fit()` says."""
    if max_length is None or len(text) <= max_length:
        return text
    for _ in range(3):
        cut = text[: max_length - 1]
        while cut and not cut[-1].isalpha():
            cut = cut[:-1]
        text = redaction.redacted(cut + ELLIPSIS)
        if len(text) <= max_length:
            return text
    return "".join(char for char in text[: max_length - 1] if not char.isdigit()) + ELLIPSIS


def redact_json(value):
    """Card numbers out of every string of a JSON value: keys, values, nested lists and dicts."""
    if isinstance(value, str):
        return redaction.redacted(value)
    if isinstance(value, dict):
        return {redact_json(key): redact_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(item) for item in value]
    return value


def redact_expression(value):
    """Plain strings are redacted; in an expression (`Concat(F(...), Value(...))`), its literal strings."""
    if isinstance(value, str):
        return redaction.redacted(value)
    if isinstance(value, expressions.Value) and isinstance(value.value, str):
        value.value = redaction.redacted(value.value)
    elif hasattr(value, "get_source_expressions"):
        for source in value.get_source_expressions():
            redact_expression(source)
    return value


class RedactingField:
    """Mixin: the value is redacted on its way to the database and on the saved instance."""

    redacts = True

    def redact(self, value):
        if isinstance(value, str):
            redacted = redaction.redacted(value)
            return shorten(redacted, self.max_length) if redacted != value else value
        return value

    def get_prep_value(self, value):
        return self.redact(super().get_prep_value(value))

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        clean = self.redact(value)
        if clean is not value:
            setattr(model_instance, self.attname, clean)
        return clean


class RedactedCharField(RedactingField, models.CharField):
    pass


class RedactedTextField(RedactingField, models.TextField):
    pass


class RedactedJSONField(RedactingField, models.JSONField):
    def redact(self, value):
        if isinstance(value, (str, dict, list, tuple)):
            clean = redact_json(value)
            return value if clean == value else clean
        return value


class CardNumberRefused(ValidationError, ValueError):
    """A write of a card number into a field that must hold an address or a reference."""


def reject_card_numbers(value) -> None:
    """Validator for addresses and references: a card number in them is refused, not redacted."""
    if isinstance(value, str) and contains_card_number(value):
        raise ValidationError(REFUSED_MESSAGE, code="card_number")


class RefusingField:
    """Mixin: a card number is a validation error, and a write that skipped validation fails."""

    redacts = False
    refuses = True

    def get_db_prep_save(self, value, connection):
        if isinstance(value, str) and contains_card_number(value):
            raise CardNumberRefused(f"{self.model._meta.label}.{self.name}: {REFUSED_MESSAGE}", code="card_number")
        return super().get_db_prep_save(value, connection)


class CardFreeEmailField(RefusingField, models.EmailField):
    default_validators = [*models.EmailField.default_validators, reject_card_numbers]


class CardFreeCharField(RefusingField, models.CharField):
    default_validators = [*models.CharField.default_validators, reject_card_numbers]


class CardFreeSlugField(RefusingField, models.SlugField):
    default_validators = [*models.SlugField.default_validators, reject_card_numbers]


def redact_text_columns(sender, instance, **kwargs) -> None:
    """`pre_save` receiver for models whose fields are not ours (django-auditlog's LogEntry,
    django-axes' access records): the same rule for every text column of theirs."""
    for field in instance._meta.concrete_fields:
        if getattr(field, "redacts", False) or not isinstance(
            field, (models.CharField, models.TextField, models.JSONField)
        ):
            continue
        value = getattr(instance, field.attname)
        if isinstance(field, models.JSONField):
            clean = redact_json(value)
        elif isinstance(value, str):
            redacted = redaction.redacted(value)
            clean = shorten(redacted, field.max_length) if redacted != value else value
        else:
            clean = redact_expression(value)
        if clean != value:
            setattr(instance, field.attname, clean)
