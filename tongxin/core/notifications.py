"""One notification service with pluggable channels.

``notify(users, subject, body, link, channels=("inapp",))`` sends a message to users through each channel:

* ``inapp``   — the user's inbox (:class:`tongxin.core.models.Notification`), one bulk INSERT;
* ``email``   — Django's mail (``EMAIL_BACKEND``), to users with an address;
* ``webhook`` — POST JSON with urllib to ``settings.NOTIFICATION_WEBHOOK_URL`` (timeout, failures logged);
* ``sms``     — through ``settings.SMS_BACKEND`` (``ConsoleSMSBackend`` logs; a real gateway implements
  :class:`SMSBackend`).

When called inside a transaction the messages go out on commit (``on_commit=True``, the default), so a rolled
back service sends nothing. Channels are registered in :data:`CHANNELS`; add one with :func:`register`.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger("tongxin.notifications")


@dataclass(frozen=True)
class Message:
    user_ids: tuple[int, ...]
    subject: str
    body: str = ""
    link: str = ""
    kind: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Channel:
    name = ""

    def send(self, messages: Sequence[Message]) -> None:
        raise NotImplementedError


class InAppChannel(Channel):
    name = "inapp"

    def send(self, messages: Sequence[Message]) -> None:
        from tongxin.core.models import Notification

        rows = [
            Notification(
                user_id=uid, subject=m.subject[:200], body=m.body, link=m.link[:300], kind=m.kind[:40]
            )
            for m in messages
            for uid in m.user_ids
        ]
        Notification.objects.bulk_create(rows, batch_size=1000)


class EmailChannel(Channel):
    name = "email"

    def send(self, messages: Sequence[Message]) -> None:
        from tongxin.core.models import User

        ids = {uid for m in messages for uid in m.user_ids}
        emails = dict(User.objects.filter(pk__in=ids).exclude(email="").values_list("id", "email"))
        batch = [
            (m.subject, f"{m.body}\n\n{m.link}".strip(), settings.DEFAULT_FROM_EMAIL, [emails[u]])
            for m in messages
            for u in m.user_ids
            if u in emails
        ]
        if batch:
            try:
                send_mass_mail(batch, fail_silently=False)
            except Exception:  # a mail outage must not break the workflow
                logger.exception("e-mail notification failed")


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, url: str | None = None, timeout: float = 5.0) -> None:
        self.url = url or getattr(settings, "NOTIFICATION_WEBHOOK_URL", "")
        self.timeout = timeout

    def send(self, messages: Sequence[Message]) -> None:
        if not self.url:
            return
        for m in messages:
            body = json.dumps(
                {
                    "users": list(m.user_ids),
                    "subject": m.subject,
                    "body": m.body,
                    "link": m.link,
                    "kind": m.kind,
                    **m.extra,
                },
                ensure_ascii=False,
            ).encode()
            req = urllib.request.Request(
                self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    resp.read()
            except Exception as exc:  # logged, never raised: the case workflow goes on
                logger.warning("webhook %s failed: %s", self.url, exc)


class SMSBackend:
    """Interface for an SMS gateway: ``send(phone, text)``."""

    def send(self, phone: str, text: str) -> None:
        raise NotImplementedError


class ConsoleSMSBackend(SMSBackend):
    """Writes messages to the log (and keeps them in ``outbox`` for tests)."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        ConsoleSMSBackend.outbox.append((phone, text))
        logger.info("SMS to %s: %s", phone, text)


class MemorySMSBackend(SMSBackend):
    """Keeps messages in :attr:`outbox` (tests; the live server of a browser test shares the process)."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        MemorySMSBackend.outbox.append((phone, text))


class SMSChannel(Channel):
    """Sends to users' phones. Phones are stored encrypted; the channel decrypts only to hand them to the
    gateway (masked in the log)."""

    name = "sms"

    def send(self, messages: Sequence[Message]) -> None:
        backend: SMSBackend = import_string(settings.SMS_BACKEND)()
        ids = {uid for m in messages for uid in m.user_ids}
        phones = phones_of(ids)
        for m in messages:
            for uid in m.user_ids:
                phone = phones.get(uid)
                if not phone:
                    continue
                try:
                    backend.send(phone, f"{m.subject} {m.body}".strip()[:300])
                except Exception:
                    logger.exception("SMS notification failed")


# Where users' phones are: apps that store them register ``fn(user_ids) -> {user_id: clear phone}`` (people: the
# linked resident's phone). Core itself knows no domain app.
_PHONE_PROVIDERS: list[Callable[[set[int]], dict[int, str]]] = []


def phone_provider(fn: Callable[[set[int]], dict[int, str]]) -> Callable[[set[int]], dict[int, str]]:
    """Register a source of users' phone numbers (decorator). The first provider that knows a user wins."""
    if fn not in _PHONE_PROVIDERS:
        _PHONE_PROVIDERS.append(fn)
    return fn


def phones_of(user_ids: Iterable[int]) -> dict[int, str]:
    """Clear phone numbers of ``user_ids`` (those that have one), for handing to the SMS gateway only."""
    wanted = set(user_ids)
    found: dict[int, str] = {}
    for provider in _PHONE_PROVIDERS:
        missing = wanted - found.keys()
        if not missing:
            break
        for uid, phone in provider(missing).items():
            if uid in missing and phone:
                found[uid] = phone
    return found


CHANNELS: dict[str, Callable[[], Channel]] = {
    "inapp": InAppChannel,
    "email": EmailChannel,
    "webhook": WebhookChannel,
    "sms": SMSChannel,
}


def register(name: str, factory: Callable[[], Channel]) -> None:
    CHANNELS[name] = factory


def _ids(users: Iterable[Any]) -> tuple[int, ...]:
    seen: dict[int, None] = {}
    for u in users:
        if u is None:
            continue
        uid = u if isinstance(u, int) else u.pk
        if uid is not None:
            seen[uid] = None
    return tuple(seen)


def send(
    messages: Sequence[Message], channels: Iterable[str] = ("inapp",), *, on_commit: bool = True
) -> None:
    """Deliver ``messages`` through ``channels`` (after the current transaction commits by default)."""
    messages = [m for m in messages if m.user_ids]
    if not messages:
        return
    names = tuple(channels)

    def deliver() -> None:
        for name in names:
            try:
                CHANNELS[name]().send(messages)
            except Exception:
                logger.exception("notification channel %s failed", name)

    if on_commit:
        transaction.on_commit(deliver)
    else:
        deliver()


def notify(
    users: Iterable[Any],
    subject: str,
    body: str = "",
    link: str = "",
    channels: Iterable[str] = ("inapp",),
    *,
    kind: str = "",
    on_commit: bool = True,
    **extra: Any,
) -> None:
    """Send one message to ``users`` (User objects or ids) through ``channels``."""
    send(
        [Message(_ids(users), str(subject), str(body), link, kind, extra)],
        channels,
        on_commit=on_commit,
    )
