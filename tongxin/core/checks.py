"""System checks run by ``manage.py check`` (and before ``migrate``): settings that load but cannot work.

``deploy_checks`` refuses unsafe production settings while the settings module loads, before Django can import
anything; what needs the apps loaded — importing the SMS gateway's class — is checked here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.utils.module_loading import import_string


def sms_backend_loads(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SMS_BACKEND names a class that can be imported and has ``send(phone, text)``."""
    path = settings.SMS_BACKEND
    try:
        backend = import_string(path)
    except ImportError as exc:
        return [
            Error(
                f"SMS_BACKEND {path!r} cannot be imported: {exc}",
                hint="Check the class name and that its folder is on PYTHONPATH (docs/deploy.md, 'The SMS gateway').",
                id="tongxin.E001",
            )
        ]
    if not callable(getattr(backend, "send", None)):
        return [
            Error(
                f"SMS_BACKEND {path!r} has no send(phone, text) method.",
                hint="The gateway class needs send(self, phone: str, text: str) -> None (docs/deploy.md).",
                id="tongxin.E002",
            )
        ]
    return []
