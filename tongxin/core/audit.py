"""Write audit records. Every service that writes or reveals personal data calls :func:`record`.

The log holds up against those who could edit it:

* **Append-only in the database.** Triggers (:class:`tongxin.core.db.AppendOnly`) refuse ``UPDATE`` and
  ``DELETE`` of audit rows on PostgreSQL and SQLite, whoever sends them; only ``manage.py archive_audit`` lifts
  them, inside its own transaction, to remove rows it has exported.
* **A hash chain.** Each row stores ``hash = sha256(prev_hash + canonical content)`` and the hash of the row before
  it (:func:`row_hash`). Rows are chained in id order under a lock (a transaction-scoped advisory lock on
  PostgreSQL; SQLite serialises writers already), so a row changed, removed or slipped in from outside breaks
  the chain at that point, and ``manage.py verify_audit`` names the first broken link. Archiving leaves a
  checkpoint row (action ``archive``) carrying the hash of the last row it removed, so the remaining chain still
  verifies, and so does each exported file on its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from tongxin.core.middleware import client_ip, current_request
from tongxin.core.models import AuditLog, User

# pg_advisory_xact_lock key of the chain (any constant; "tx-audit" in ASCII)
CHAIN_LOCK = 0x74782D6175646974


def _actor(actor: Any) -> User | None:
    if actor is not None:
        return actor if getattr(actor, "is_authenticated", False) else None
    request = current_request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def _jsonable(value: Any) -> Any:
    """``value`` as it will come back from the JSON column (dates as text, tuples as lists)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _canonical(value: Any) -> Any:
    # PostgreSQL's jsonb keeps numbers as numerics: 1e20 comes back as an int. Integral floats hash as ints.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def row_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The chain hash of one row: sha256 over the previous row's hash and this row's content."""
    at = fields["at"]
    content = [
        prev_hash,
        at.astimezone(dt.UTC).isoformat(timespec="microseconds") if isinstance(at, dt.datetime) else str(at),
        fields["actor_id"],
        fields["action"],
        fields["object_type"],
        fields["object_id"],
        fields["object_repr"],
        fields["field"],
        _canonical(fields["before"]),
        _canonical(fields["after"]),
        fields["ip"] or None,
    ]
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


HASHED_FIELDS = (
    "at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "field",
    "before",
    "after",
    "ip",
)


def fields_of(row: AuditLog) -> dict[str, Any]:
    return {name: getattr(row, name) for name in HASHED_FIELDS}


def _lock_chain() -> str:
    """Take the chain's lock (until the transaction ends) and return the hash of the last row."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
    last = AuditLog.objects.order_by("-id").values_list("hash", flat=True).first()
    return last or ""


def _normal_ip(ip: str | None) -> str | None:
    import ipaddress

    if not ip:
        return None
    try:
        return ipaddress.ip_address(ip).compressed
    except ValueError:
        return None


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    actor: Any = None,
    object_type: str = "",
    object_id: Any = "",
    before: Any = None,
    after: Any = None,
    field: str = "",
    ip: str | None = None,
) -> AuditLog:
    """Append one audit record. ``before``/``after`` must already be masked where they hold personal data."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    row = AuditLog(
        actor=_actor(actor),
        action=action,
        object_type=object_type[:60],
        object_id=str(object_id or "")[:40],
        object_repr=str(obj)[:200] if obj is not None else "",
        field=field[:60],
        before=_jsonable(before),
        after=_jsonable(after),
        ip=_normal_ip(ip or client_ip(current_request.get())),
    )
    if connection.in_atomic_block:  # the caller's transaction holds the lock until it ends
        _chain_and_save(row)
    else:
        with transaction.atomic():
            _chain_and_save(row)
    return row


def _chain_and_save(row: AuditLog) -> None:
    tail = _own_tail()
    row.prev_hash = tail if tail is not None else _lock_chain()
    row.hash = row_hash(row.prev_hash, fields_of(row))
    row.save()
    _remember_tail(row.hash)


class _Tail:
    """The hash of the last row this transaction appended. It is registered as a (no-op) commit hook: while the
    hook is still pending, the transaction — or the savepoint — that wrote the row is still open, holds the chain's
    lock and nobody else can have appended since, so the next record of the same transaction chains to it without
    asking the database again (a service that transitions twice, an intake routed at once). A rollback drops the
    hook with the row, and the next record asks again."""

    def __init__(self, hash: str) -> None:
        self.hash = hash

    def __call__(self) -> None:
        pass


def _remember_tail(hash: str) -> None:
    tail = _Tail(hash)
    transaction.on_commit(tail)  # at this savepoint's level: rolled back with the row
    connection._tongxin_audit_tail = tail  # type: ignore[attr-defined]


def _own_tail() -> str | None:
    tail: _Tail | None = getattr(connection, "_tongxin_audit_tail", None)
    if tail is None or not connection.in_atomic_block:
        return None
    for entry in reversed(connection.run_on_commit):  # the tail is among the last hooks, usually the last one
        if entry[1] is tail:
            return tail.hash
    return None


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, for compact before/after records."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


# --- verification ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first link of the chain that does not hold."""

    row_id: int
    reason: str

    def __str__(self) -> str:
        return f"#{self.row_id}: {self.reason}"


@dataclass(frozen=True)
class Verdict:
    rows: int
    head: str  # the hash of the last row verified (write it down: a rewritten chain ends elsewhere)
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_rows(rows: Iterable[dict[str, Any]], anchors: set[str] | None = None) -> Verdict:
    """Walk ``rows`` (dicts with ``id``, ``prev_hash``, ``hash`` and :data:`HASHED_FIELDS`, in id order).

    The first row must start the chain (``prev_hash`` empty) or continue from one of ``anchors`` (the hashes
    that archive checkpoints recorded for the rows they removed)."""
    prev: str | None = None
    count = 0
    for row in rows:
        count += 1
        if prev is None:
            if row["prev_hash"] and row["prev_hash"] not in (anchors or set()):
                return Verdict(count, "", Break(row["id"], "chain start has no archive checkpoint"))
        elif row["prev_hash"] != prev:
            return Verdict(
                count, prev, Break(row["id"], "previous hash does not match (row removed or reordered)")
            )
        if row_hash(row["prev_hash"], row) != row["hash"]:
            return Verdict(
                count, prev or "", Break(row["id"], "content does not match its hash (row changed)")
            )
        prev = row["hash"]
    return Verdict(count, prev or "", None)


def _stored_rows(batch: int = 2000) -> Iterator[dict[str, Any]]:
    last = 0
    values = ("id", "prev_hash", "hash", *HASHED_FIELDS)
    while True:
        chunk = list(AuditLog.objects.filter(id__gt=last).order_by("id").values(*values)[:batch])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1]["id"]


def checkpoint_anchors() -> set[str]:
    """Hashes of archived rows that the remaining chain may continue from."""
    anchors = set()
    for after in AuditLog.objects.filter(action=AuditLog.Action.ARCHIVE).values_list("after", flat=True):
        if isinstance(after, dict) and after.get("through_hash"):
            anchors.add(str(after["through_hash"]))
    return anchors


def verify() -> Verdict:
    """Verify the whole chain in the database."""
    return verify_rows(_stored_rows(), checkpoint_anchors())
