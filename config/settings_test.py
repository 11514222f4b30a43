"""Settings for the test suite: the production settings, with a fast password hasher.

Argon2 is slow on purpose (it is what makes a stolen hash expensive to guess), and the suite makes
and checks passwords for every agent it signs in. Tests gain nothing from that cost, so here MD5
hashes them, as cookiecutter-django does; nothing else differs from config.settings.
tests/test_settings.py checks that production still hashes with Argon2 first.
"""

from .settings import *  # noqa: F403  (everything as in production, then the one difference below)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
