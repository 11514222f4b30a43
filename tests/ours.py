"""Which apps are ours: every installed app whose code lives in this repository. Tests that must
cover every app (every text field, every URL) take the list from here, so a new app is covered
the day it is installed."""

import pathlib

from django.apps import apps

ROOT = pathlib.Path(__file__).resolve().parent.parent


def our_apps() -> tuple[str, ...]:
    return tuple(c.label for c in apps.get_app_configs() if _ours(pathlib.Path(c.path).resolve()))


def _ours(path: pathlib.Path) -> bool:
    # A virtualenv may live inside the checkout: installed packages are not ours.
    return path.is_relative_to(ROOT) and "site-packages" not in path.parts
