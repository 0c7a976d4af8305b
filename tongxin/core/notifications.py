"""One notification service with pluggable channels, per-user preferences and at-most-once delivery.

``notify(users, subject, body, link, kind=..., event=...)`` sends one message to users (User objects or ids):

* ``inapp``   — the user's inbox (:class:`tongxin.core.models.Notification`); always on;
* ``sms``     — through ``settings.SMS_BACKEND`` (an :class:`SMSBackend`), to the phone a user set for SMS
  (:class:`~tongxin.core.models.NotificationAddress`) or the one a *phone provider* knows (people: the resident
  linked to the user);
* ``wechat``  — a WeChat template message through ``settings.WECHAT_BACKEND`` (a :class:`WeChatBackend`; off when
  unset), to the user's bound openid, with the template ``settings.WECHAT_TEMPLATES[kind]``;
* ``email``   — Django's mail, to users with an address;
* ``webhook`` — POST JSON to ``settings.NOTIFICATION_WEBHOOK_URL`` (one call per message, not per user).

Which channels: ``channels`` when given; otherwise in-app plus the kind's default channels (:func:`register_kind`),
less what the user turned off (:class:`~tongxin.core.models.NotificationPreference`).

**Never twice.** Every per-user delivery first claims a :class:`~tongxin.core.models.Delivery` row whose unique
key is kind + event + recipient + channel. The event is ``event=`` when the emitter gives one (e.g. the id of the
case event), else the message's link (the object it is about), else the keyword arguments; a message with none of
them is its own event. A second emission of the same event — a retried task, a double submit — finds the key taken
and sends nothing. An emitter that can send one kind for one object more than once (a case dispatched, returned and
dispatched again) passes ``event=`` to tell the occasions apart.

When called inside a transaction the messages go out on commit (``on_commit=True``, the default), so a rolled back
service sends nothing. A *fresh* event (``fresh=True``: a new case's first message, emitted in the transaction that
creates it) has its inbox rows written at once in that transaction instead — two INSERTs, no key looked up first,
committed or rolled back with the case; its other channels still go out on commit. Logs never show a full phone number or a one-time code (:func:`redact`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from tongxin.core import pii

logger = logging.getLogger("tongxin.notifications")

INAPP, SMS, WECHAT, EMAIL, WEBHOOK = "inapp", "sms", "wechat", "email", "webhook"
# The channels a user may switch per kind (in-app is always on).
OPTIONAL_CHANNELS = (SMS, WECHAT)


# --- kinds ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of notification: its label for the preferences page and the channels it uses besides in-app unless
    the user turns them off. ``aliases`` are older names emitters still use for it."""

    code: str
    label: Any
    channels: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", frozenset(self.channels))


KINDS: dict[str, Kind] = {}
_ALIASES: dict[str, str] = {}


def register_kind(*kinds: Kind) -> None:
    for k in kinds:
        KINDS[k.code] = k
        for alias in k.aliases:
            _ALIASES[alias] = k.code


def canonical(kind: str) -> str:
    return _ALIASES.get(kind, kind)


def kind_of(code: str) -> Kind | None:
    return KINDS.get(canonical(code))


# --- messages -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    user_ids: tuple[int, ...]
    subject: str
    body: str = ""
    link: str = ""
    kind: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    event: str = ""  # what makes this emission one event (see the module docstring)

    def event_ref(self) -> str:
        if self.event:
            return self.event
        if self.link:
            return self.link
        if self.extra:
            return "&".join(f"{k}={v}" for k, v in sorted(self.extra.items()))
        return ""


def delivery_key(kind: str, event: str, user_id: int, channel: str) -> str:
    return hashlib.sha256(f"{canonical(kind)}\x1f{event}\x1f{user_id}\x1f{channel}".encode()).hexdigest()


# --- redaction ----------------------------------------------------------------------------------------------

_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z*-])\d{4,8}(?![0-9A-Za-z-])")


def redact(text: str) -> str:
    """``text`` fit for a log: phone numbers masked (139****0002), standalone runs of 4–8 digits (one-time codes)
    replaced by ``******``."""
    text = _PHONE_IN_TEXT.sub(r"\1****\2", text)
    return _CODE_IN_TEXT.sub("******", text)


# --- backends for the outside world --------------------------------------------------------------------------


class SMSBackend:
    """Interface for an SMS gateway: ``send(phone, text)``. Raise on failure (the delivery is marked failed)."""

    def send(self, phone: str, text: str) -> None:
        raise NotImplementedError


class ConsoleSMSBackend(SMSBackend):
    """Development: writes messages to the log, the number masked and codes hidden (:func:`redact`). Keeps them in
    ``outbox`` (in memory, for tests)."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        ConsoleSMSBackend.outbox.append((phone, text))
        logger.info("SMS to %s: %s", pii.mask(phone), redact(text))


class MemorySMSBackend(SMSBackend):
    """Keeps messages in :attr:`outbox` (tests; the live server of a browser test shares the process)."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        MemorySMSBackend.outbox.append((phone, text))


class WeChatBackend:
    """Interface for WeChat template messages (公众号模板消息): ``send_template(openid, template_id, data, url)``,
    where ``data`` maps the template's keywords to values. Raise on failure."""

    def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str) -> None:
        raise NotImplementedError


def optional_channels() -> tuple[str, ...]:
    """The channels a user can switch now: SMS, and WeChat when a backend is configured."""
    wechat = bool(getattr(settings, "WECHAT_BACKEND", ""))
    return tuple(c for c in OPTIONAL_CHANNELS if c != WECHAT or wechat)


def sms_backend() -> SMSBackend:
    return import_string(settings.SMS_BACKEND)()


def wechat_backend() -> WeChatBackend | None:
    path = getattr(settings, "WECHAT_BACKEND", "")
    return import_string(path)() if path else None


# --- where users are reached ----------------------------------------------------------------------------------

# Apps that store phones register ``fn(user_ids) -> {user_id: clear phone}`` (people: the linked resident's phone).
# A phone the user set for SMS (NotificationAddress) comes first. Core itself knows no domain app.
_PHONE_PROVIDERS: list[Callable[[set[int]], dict[int, str]]] = []


def phone_provider(fn: Callable[[set[int]], dict[int, str]]) -> Callable[[set[int]], dict[int, str]]:
    """Register a source of users' phone numbers (decorator). The first source that knows a user wins."""
    if fn not in _PHONE_PROVIDERS:
        _PHONE_PROVIDERS.append(fn)
    return fn


def _own_phones(user_ids: set[int]) -> dict[int, str]:
    from tongxin.core.models import NotificationAddress

    rows = NotificationAddress.objects.filter(user_id__in=user_ids).exclude(phone_enc="")
    return {uid: pii.decrypt(enc) for uid, enc in rows.values_list("user_id", "phone_enc")}


def phones_of(user_ids: Iterable[int]) -> dict[int, str]:
    """Clear phone numbers of ``user_ids`` (those that have one), for handing to the SMS gateway only."""
    wanted = set(user_ids)
    found: dict[int, str] = {}
    for provider in [_own_phones, *_PHONE_PROVIDERS]:
        missing = wanted - found.keys()
        if not missing:
            break
        for uid, phone in provider(missing).items():
            if uid in missing and phone:
                found[uid] = phone
    return found


# --- channels -----------------------------------------------------------------------------------------------


class Channel:
    """Sends to users one by one; each (event, user) is claimed by a Delivery row first (never twice)."""

    name = ""

    def addresses(self, user_ids: set[int]) -> dict[int, tuple[Any, str]]:
        """``{user_id: (address, masked address)}`` for the users this channel can reach."""
        return {uid: (uid, "") for uid in user_ids}

    def send_one(self, address: Any, message: Message) -> None:
        raise NotImplementedError

    def open(self) -> bool:
        """Make the channel ready to :meth:`send_one` (its backend); False when it is switched off."""
        return True

    def accepts(self, message: Message) -> bool:
        """Whether this channel carries ``message`` at all (e.g. WeChat: only kinds with a template)."""
        return True

    def send(self, messages: Sequence[Message]) -> None:
        """Claim every (message, user) of the batch at once (:func:`_claim`), then hand each claimed one to the
        backend; one UPDATE marks the sent ones."""
        from tongxin.core.models import Delivery

        addresses = self.addresses({uid for m in messages for uid in m.user_ids})
        sent: list[int] = []
        for m, delivery in _claim(messages, self.name, addresses):
            if delivery.status != Delivery.Status.PENDING:
                continue
            try:
                self.send_one(addresses[delivery.user_id][0], m)
            except Exception as exc:  # an outage must not break the workflow; the row says what happened
                logger.warning("%s to user %s failed: %s", self.name, delivery.user_id, redact(str(exc)))
                detail = redact(str(exc))[:200]
                Delivery.objects.filter(pk=delivery.pk).update(
                    status=Delivery.Status.FAILED, detail=detail, sent_at=timezone.now()
                )
            else:
                sent.append(delivery.pk)
        # one UPDATE for the successful ones (the claim already made them unique)
        if sent:
            Delivery.objects.filter(pk__in=sent).update(status=Delivery.Status.SENT, sent_at=timezone.now())


def _delivery(m: Message, event: str, uid: int, channel: str, **fields: Any) -> Any:
    """The delivery row of ``m`` to user ``uid`` on ``channel``: it holds the never-twice key."""
    from tongxin.core.models import Delivery

    return Delivery(
        key=delivery_key(m.kind, event, uid, channel),
        user_id=uid,
        kind=m.kind[:40],
        channel=channel,
        event=event[:100],
        **fields,
    )


def _claim(
    messages: Sequence[Message],
    channel: str,
    addresses: dict[int, tuple[Any, str]],
    *,
    inbox: bool = False,
) -> list[tuple[Message, Any]]:
    """Delivery rows for the (message, user) pairs of ``messages`` whose key is not taken yet (users this channel
    cannot reach get a ``skipped`` row): one SELECT of the taken keys and one INSERT for the whole batch, whatever
    its size; if another process took a key meanwhile, one by one. With ``inbox`` the users' Notification rows are
    written in the same step and the deliveries are ``sent``. Returns the claimed rows with their message."""
    from tongxin.core.models import Delivery, Notification

    def note(m: Message, uid: int) -> Notification:
        return Notification(
            user_id=uid, subject=m.subject[:200], body=m.body, link=m.link[:300], kind=m.kind[:40]
        )

    def write(pairs: list[tuple[Message, Any]]) -> list[tuple[Message, Any]]:
        if inbox:
            notes = Notification.objects.bulk_create([note(m, d.user_id) for m, d in pairs])
            for (_m, d), n in zip(pairs, notes, strict=True):
                d.notification_id, d.status, d.sent_at = n.pk, Delivery.Status.SENT, n.created_at
        saved = Delivery.objects.bulk_create([d for _m, d in pairs])
        return [(m, d) for (m, _d), d in zip(pairs, saved, strict=True)]

    rows: list[tuple[Message, Any]] = []
    keys: set[str] = set()
    for m in messages:
        event = m.event_ref() or f"once:{uuid.uuid4().hex}"
        for uid in dict.fromkeys(m.user_ids):
            reachable = uid in addresses
            d = _delivery(
                m,
                event,
                uid,
                channel,
                address=addresses[uid][1][:40] if reachable else "",
                status=Delivery.Status.PENDING if reachable else Delivery.Status.SKIPPED,
                detail="" if reachable else "no address",
            )
            if d.key not in keys:  # the same event twice in one batch is delivered once
                keys.add(d.key)
                rows.append((m, d))
    taken: set[str] = set()
    ordered = sorted(keys)
    for i in range(0, len(ordered), 1000):
        taken.update(Delivery.objects.filter(key__in=ordered[i : i + 1000]).values_list("key", flat=True))
    rows = [(m, d) for m, d in rows if d.key not in taken]
    if not rows:
        return []
    try:
        with transaction.atomic():
            return write(rows)
    except IntegrityError:
        claimed = []
        for m, d in rows:
            d.pk = None
            try:
                with transaction.atomic():
                    claimed += write([(m, d)])
            except IntegrityError:
                continue
        return claimed


class InAppChannel(Channel):
    name = INAPP

    def send(self, messages: Sequence[Message]) -> None:
        everyone = {uid: (uid, "") for m in messages for uid in m.user_ids}
        # the inbox row and its delivery row are written together: a taken key writes neither
        _claim(messages, self.name, everyone, inbox=True)


class SMSChannel(Channel):
    """Phones are stored encrypted; they are decrypted only to hand them to the gateway, and recorded masked."""

    name = SMS

    def addresses(self, user_ids: set[int]) -> dict[int, tuple[Any, str]]:
        return {uid: (phone, pii.mask(phone)) for uid, phone in phones_of(user_ids).items()}

    def open(self) -> bool:
        self.backend = sms_backend()
        return True

    def send(self, messages: Sequence[Message]) -> None:
        self.open()
        super().send(messages)

    def send_one(self, address: Any, message: Message) -> None:
        self.backend.send(address, f"{message.subject} {message.body}".strip()[:300])


class WeChatChannel(Channel):
    """Template messages to users who bound the official account; nothing when ``WECHAT_BACKEND`` is unset or the
    kind has no template."""

    name = WECHAT

    def addresses(self, user_ids: set[int]) -> dict[int, tuple[Any, str]]:
        from tongxin.core.models import NotificationAddress

        rows = NotificationAddress.objects.filter(user_id__in=user_ids).exclude(wechat_openid="")
        return {uid: (oid, f"wx:{oid[:6]}…") for uid, oid in rows.values_list("user_id", "wechat_openid")}

    def open(self) -> bool:
        backend = wechat_backend()
        if backend is None:
            return False
        self.backend = backend
        return True

    def accepts(self, message: Message) -> bool:
        templates: dict[str, str] = getattr(settings, "WECHAT_TEMPLATES", {})
        return bool(templates.get(canonical(message.kind)))

    def send(self, messages: Sequence[Message]) -> None:
        if not self.open():
            return
        super().send([m for m in messages if self.accepts(m)])

    def send_one(self, address: Any, message: Message) -> None:
        templates: dict[str, str] = getattr(settings, "WECHAT_TEMPLATES", {})
        data = {"first": message.subject, "remark": message.body[:200]}
        base = getattr(settings, "SITE_URL", "")
        self.backend.send_template(address, templates[canonical(message.kind)], data, f"{base}{message.link}")


class EmailChannel(Channel):
    name = EMAIL

    def addresses(self, user_ids: set[int]) -> dict[int, tuple[Any, str]]:
        from tongxin.core.models import User

        rows = User.objects.filter(pk__in=user_ids).exclude(email="").values_list("id", "email")
        return {uid: (email, email.split("@")[0][:2] + "…@" + email.split("@")[-1]) for uid, email in rows}

    def send_one(self, address: Any, message: Message) -> None:
        body = f"{message.body}\n\n{message.link}".strip()
        send_mail(message.subject, body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)


class WebhookChannel(Channel):
    """One POST per message (not per user), so it is not recorded per user; failures are logged."""

    name = WEBHOOK

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


CHANNELS: dict[str, Callable[[], Channel]] = {
    INAPP: InAppChannel,
    SMS: SMSChannel,
    WECHAT: WeChatChannel,
    EMAIL: EmailChannel,
    WEBHOOK: WebhookChannel,
}


def register(name: str, factory: Callable[[], Channel]) -> None:
    CHANNELS[name] = factory


# --- preferences ----------------------------------------------------------------------------------------------


def wanted(user_ids: Iterable[int], kind: str, channel: str, default: bool | None = None) -> set[int]:
    """The users who receive ``kind`` on ``channel``: in-app always; otherwise what the user chose, else
    ``default`` (when None: whether the kind uses the channel by default)."""
    ids = set(user_ids)
    if channel == INAPP:
        return ids
    from tongxin.core.models import NotificationPreference

    if default is None:
        k = kind_of(kind)
        default = k is not None and channel in k.channels
    chosen = dict(
        NotificationPreference.objects.filter(
            user_id__in=ids, kind=canonical(kind), channel=channel
        ).values_list("user_id", "enabled")
    )
    return {uid for uid in ids if chosen.get(uid, default)}


def channels_for(kind: str, channels: Iterable[str] | None) -> tuple[str, ...]:
    if channels is not None:
        return tuple(channels)
    k = kind_of(kind)
    extra = sorted(k.channels) if k is not None else []
    return (INAPP, *extra)


# --- sending --------------------------------------------------------------------------------------------------


def _ids(users: Iterable[Any]) -> tuple[int, ...]:
    seen: dict[int, None] = {}
    for u in users:
        if u is None:
            continue
        uid = u if isinstance(u, int) else u.pk
        if uid is not None:
            seen[uid] = None
    return tuple(seen)


def deliver(
    messages: Sequence[Message], channels: Iterable[str] | None = None, *, skip: frozenset[str] = frozenset()
) -> None:
    """Send now, through ``channels`` or each message's kind's channels (less ``skip``), honouring preferences and
    the never-twice keys. Called by :func:`send` (on commit). Each channel gets the whole batch at once: the
    statements do not grow with the number of messages (a deadline sweep sends hundreds)."""
    per_channel: dict[str, list[Message]] = {}
    for m in messages:
        for name in channels_for(m.kind, channels):
            if name not in skip:
                per_channel.setdefault(name, []).append(m)
    for name, group in per_channel.items():
        if name == WEBHOOK:
            batch = group
        else:
            # channels the emitter named explicitly go to everyone who has not turned them off
            default = True if channels is not None else None
            users_by_kind: dict[str, set[int]] = {}
            for m in group:
                users_by_kind.setdefault(m.kind, set()).update(m.user_ids)
            receiving = {k: wanted(ids, k, name, default) for k, ids in users_by_kind.items()}
            batch = []
            for m in group:
                targets = tuple(uid for uid in m.user_ids if uid in receiving[m.kind])
                if targets:
                    batch.append(Message(targets, m.subject, m.body, m.link, m.kind, m.extra, m.event))
        if not batch:
            continue
        try:
            CHANNELS[name]().send(batch)
        except Exception:
            logger.exception("notification channel %s failed", name)


OUTBOX = "outbox"  # Delivery.detail of a row a fresh event left for the worker (status pending)


def _inbox_now(batch: Sequence[tuple[Message, tuple[str, ...]]]) -> None:
    """The rows of fresh events, written in the caller's transaction: one INSERT of the inbox rows and one of the
    delivery rows for the whole batch — in-app ones sent, and for each channel of a message's ``later`` one pending
    row per user (the outbox the worker sends from, :func:`send_outbox`; the inbox row carries the text). The
    delivery rows hold the never-twice keys."""
    from tongxin.core.models import Delivery, Notification

    pairs = [
        (m, m.event_ref() or f"once:{uuid.uuid4().hex}", uid, later)
        for m, later in batch
        for uid in dict.fromkeys(m.user_ids)
    ]
    notes = Notification.objects.bulk_create(
        [
            Notification(
                user_id=uid, subject=m.subject[:200], body=m.body, link=m.link[:300], kind=m.kind[:40]
            )
            for m, _event, uid, _later in pairs
        ]
    )
    rows = []
    for (m, event, uid, later), n in zip(pairs, notes, strict=True):
        rows.append(
            _delivery(
                m, event, uid, INAPP, notification_id=n.pk, status=Delivery.Status.SENT, sent_at=n.created_at
            )
        )
        rows += [
            _delivery(
                m, event, uid, name, notification_id=n.pk, status=Delivery.Status.PENDING, detail=OUTBOX
            )
            for name in later
        ]
    Delivery.objects.bulk_create(rows)


def _wake_outbox() -> None:
    """After the commit: ask the worker to send the outbox now (the minute's run would otherwise)."""
    from tongxin.core.tasks import send_outbox_now

    try:
        send_outbox_now()
    except Exception:  # the queue is down: the rows are committed, the periodic run sends them
        logger.exception("could not queue the notification outbox")


def send_outbox(batch: int = 200) -> int:
    """Send up to ``batch`` deliveries that fresh events left pending (the outbox, oldest first); returns how many
    were settled. Rows are locked with SKIP LOCKED, so several workers share the outbox without sending anything
    twice. Each row ends sent, failed (the gateway's error) or skipped — the user turned the channel off for the
    kind, has no address on it, or the channel is off or does not carry the kind."""
    from tongxin.core.models import Delivery, Notification

    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.PENDING, detail=OUTBOX)
            .order_by("pk")[:batch]
        )
        if not rows:
            return 0
        notes = Notification.objects.in_bulk({r.notification_id for r in rows if r.notification_id})
        groups: dict[tuple[str, str], list[Any]] = {}
        for r in rows:
            groups.setdefault((r.channel, r.kind), []).append(r)
        for (name, kind), group in groups.items():
            channel = CHANNELS[name]()
            live = channel.open()
            receiving = wanted({r.user_id for r in group}, kind, name) if live else set()
            addresses = channel.addresses(receiving) if receiving else {}
            for r in group:
                _settle(r, channel, notes.get(r.notification_id), live, receiving, addresses)
        Delivery.objects.bulk_update(rows, ["status", "detail", "address", "sent_at"])
    return len(rows)


def _settle(
    row: Any,
    channel: Channel,
    note: Any,
    live: bool,
    receiving: set[int],
    addresses: dict[int, tuple[Any, str]],
) -> None:
    from tongxin.core.models import Delivery

    row.sent_at = timezone.now()
    message = (
        None
        if note is None
        else Message((row.user_id,), note.subject, note.body, note.link, note.kind, {}, row.event)
    )
    skipped = (
        "channel off"
        if not live or message is None or not channel.accepts(message)
        else "turned off"
        if row.user_id not in receiving
        else "no address"
        if row.user_id not in addresses
        else ""
    )
    if skipped or message is None:
        row.status, row.detail = Delivery.Status.SKIPPED, skipped
        return
    address, masked = addresses[row.user_id]
    row.address = masked[:40]
    try:
        channel.send_one(address, message)
    except Exception as exc:  # an outage must not stop the others; the row says what happened
        logger.warning("%s to user %s failed: %s", channel.name, row.user_id, redact(str(exc)))
        row.status, row.detail = Delivery.Status.FAILED, redact(str(exc))[:200]
    else:
        row.status, row.detail = Delivery.Status.SENT, ""


def send(
    messages: Sequence[Message],
    channels: Iterable[str] | None = None,
    *,
    on_commit: bool = True,
    fresh: bool = False,
) -> None:
    """Deliver ``messages`` (after the current transaction commits by default).

    ``fresh``: the emitter says each message's event happens in this transaction for the first time (a new case's
    first message), so no delivery key can be taken yet. The rows are then written at once, in the caller's
    transaction — they commit or roll back with the write that caused them, and no key is looked up first: the
    inbox rows, and (for the kind's own channels) a pending delivery row per user and channel that the worker
    sends after the commit (:func:`send_outbox`). Channels named by the emitter and the webhook go out on commit."""
    messages = [m for m in messages if m.user_ids]
    if not messages:
        return
    names = tuple(channels) if channels is not None else None
    skip: frozenset[str] = frozenset()
    if fresh and on_commit and transaction.get_connection().in_atomic_block:
        queued: set[str] = set()
        now: list[tuple[Message, tuple[str, ...]]] = []
        for m in messages:
            used = channels_for(m.kind, names)
            later = tuple(c for c in used if c not in (INAPP, WEBHOOK)) if names is None else ()
            if INAPP in used:
                now.append((m, later))
                queued.update(later)
        if now:
            _inbox_now(now)
        skip = frozenset({INAPP, *queued})
        if queued:
            transaction.on_commit(_wake_outbox)
        if all(set(channels_for(m.kind, names)) <= skip for m in messages):
            return

    def run() -> None:
        deliver(messages, names, skip=skip)

    if on_commit:
        transaction.on_commit(run)
    else:
        run()


def notify(
    users: Iterable[Any],
    subject: str,
    body: str = "",
    link: str = "",
    channels: Iterable[str] | None = None,
    *,
    kind: str = "",
    event: str = "",
    on_commit: bool = True,
    fresh: bool = False,
    **extra: Any,
) -> None:
    """Send one message to ``users`` (User objects or ids). See the module docstring for channels and keys;
    ``fresh`` as in :func:`send`."""
    send(
        [Message(_ids(users), str(subject), str(body), link, kind, extra, event)],
        channels,
        on_commit=on_commit,
        fresh=fresh,
    )
