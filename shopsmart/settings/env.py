"""The one place settings read the environment.

Every setting that may come from the environment is read here through django-environ, so a
missing or malformed value fails at start-up with the variable's name in the message.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def required(name: str) -> str:
    """Return a variable that production cannot run without, or refuse to start."""
    value: str = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} must be set in production.")
    return value
