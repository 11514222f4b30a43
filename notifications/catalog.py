"""What the desk writes to customers: the email templates, the languages it writes them in, and
which of them carry a secret.

Imports nothing of ours: the outbox's model, its rendering and the kernel all read it.
"""

import re

from django.db import models


class Language(models.TextChoices):
    EN = "en", "English"
    DE = "de", "Deutsch"
    PL = "pl", "Polski"
    NB = "nb", "Norsk bokmål"
    FA = "fa", "فارسی"


# The time zone a customer's emails give times in when their record names none: the usual one
# of the language's home country (a customer abroad gets their own on their record).
LANGUAGE_TIME_ZONES = {
    Language.EN: "Europe/London",
    Language.DE: "Europe/Berlin",
    Language.PL: "Europe/Warsaw",
    Language.NB: "Europe/Oslo",
    Language.FA: "Asia/Tehran",
}

# Right-to-left scripts: the HTML layout sets dir="rtl" so mail clients lay the text out properly.
RTL_LANGUAGES = {Language.FA}

TEMPLATES = {
    "acknowledgement",
    "verification_code",
    "securing_advice",
    "escalated",
    "progress",
    "message",
    "resolution",
    "email_changed",
}
# Emails about the account itself, written outside any incident (outbox.notify_account).
ACCOUNT_TEMPLATES = {"email_changed"}
# Emails that must reach the address they were written for, never the current address of record:
# the notice that the address changed goes to the old one.
FIXED_RECIPIENT_TEMPLATES = {"email_changed"}
# Emails whose body carries a one-time code: masked in storage once sent.
SECRET_TEMPLATES = {"verification_code"}
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def mask_secrets(text: str) -> str:
    return _CODE.sub("••••••", text)
