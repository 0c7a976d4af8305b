"""The ``tongxin`` command an installed wheel provides: ``manage.py`` without a checkout (``tongxin migrate``,
``tongxin run_huey``, ``tongxin backup`` …). ``manage.py`` runs the same :func:`main`.

On a server (where ``/etc/tongxin/tongxin.env`` exists) it refuses to run without ``TONGXIN_ENV`` in its
environment: started bare instead of through the ``tongxin-admin`` wrapper (docs/deploy.md, step 5), it would use
development settings — an SQLite file in the current folder — and, e.g., migrate the wrong database.

When production settings are refused (:data:`tongxin.core.deploy_checks.REFUSAL`), the operator gets the list of
problems and their fixes alone, not at the end of a traceback through Django's start-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# The environment file of an installation (docs/deploy.md, step 5)
ENV_FILE = Path("/etc/tongxin/tongxin.env")

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
    if "TONGXIN_ENV" not in os.environ and ENV_FILE.exists():
        sys.stderr.write(
            f"{ENV_FILE} exists but is not loaded: run commands as `tongxin-admin {' '.join(sys.argv[1:])}`"
            " (it loads the file and runs as the tongxin user). Without it this would use development settings"
            " and an SQLite file in the current folder.\n"
        )
        raise SystemExit(2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    from django.core.management import execute_from_command_line

    explain_refusal(lambda: execute_from_command_line(sys.argv))


if __name__ == "__main__":
    main()
