"""The ``tongxin`` command an installed wheel provides: ``manage.py`` without a checkout (``tongxin migrate``,
``tongxin run_huey``, ``tongxin backup`` …). ``manage.py`` runs the same :func:`main`.

When production settings are refused (:data:`tongxin.core.deploy_checks.REFUSAL`), the operator gets the list of
problems and their fixes alone, not at the end of a traceback through Django's start-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# gunicorn's exit status for a worker that cannot boot: the master stops instead of restarting it in a loop
WORKER_BOOT_ERROR = 3


def explain_refusal(start: Callable[[], T], *, status: int = 2) -> T:
    """Run ``start``; if the settings refuse to load in production, print why and exit with ``status``."""
    from django.core.exceptions import ImproperlyConfigured

    from tongxin.core.deploy_checks import REFUSAL

    try:
        return start()
    except ImproperlyConfigured as exc:
        if not str(exc).startswith(REFUSAL):
            raise
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(status) from None


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    from django.core.management import execute_from_command_line

    explain_refusal(lambda: execute_from_command_line(sys.argv))


if __name__ == "__main__":
    main()
