"""Ingestion shared by the MQTT subscriber and the gateways' HTTP endpoint: parse, validate, store a batch of
readings in one statement (PostgreSQL: binary ``COPY`` into a temporary table, then one
``INSERT … ON CONFLICT DO NOTHING RETURNING``), evaluate the thresholds on the readings that are new, and count
what was stored, repeated and refused.

Payload (JSON, UTF-8), per reading ``{"t": <time>, "v": <number>}`` where ``t`` is ISO 8601 with an offset
(``2026-03-01T08:00:00+08:00``) or Unix seconds (milliseconds when above 10¹¹). A payload is one reading, a list
of readings, or ``{"readings": [...]}``. See docs/sensors.md.

Nothing here raises for bad input: a payload that cannot be read is counted ``malformed``; a reading of an
unknown device, an impossible value or a timestamp out of bounds is counted under its reason and skipped. The
subscriber keeps running whatever arrives.

Thresholds are evaluated in time order, per device, on the readings later than the device's last one: a
repeated delivery (already stored, so not later) changes nothing, and a late reading is stored for the history
but does not move alerts. Alert transitions go through :mod:`tongxin.sensors.services`, inside the batch's
transaction, so readings and the alerts they raise commit together — or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tongxin.sensors.choices import KINDS, AlertRule, AlertState, Rejection, Source

logger = logging.getLogger("tongxin.sensors")

UTC = dt.UTC
STORED = "stored"
DUPLICATE = "duplicate"
MAX_BATCH = 5000  # readings per HTTP request


class Malformed(ValueError):
    """A payload (or a reading's time/value) that cannot be read."""


# --- parsing -------------------------------------------------------------------------------------------------


def parse_time(raw: Any) -> dt.datetime:
    """An aware UTC datetime from ISO 8601 with an offset, or from Unix seconds/milliseconds."""
    if isinstance(raw, bool):
        raise Malformed("time")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise Malformed("time")
        seconds = raw / 1000.0 if raw > 1e11 else float(raw)
        try:
            return dt.datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise Malformed("time") from None
    if isinstance(raw, str):
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise Malformed("time") from None
        if value.tzinfo is None:  # a device clock without an offset is ambiguous: refuse it
            raise Malformed("time")
        return value.astimezone(UTC)
    raise Malformed("time")


def parse_value(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise Malformed("value")
    return float(raw)


def parse_payload(payload: bytes | str) -> list[dict[str, Any]]:
    """The list of reading objects in an MQTT payload; :class:`Malformed` when it is not one of the shapes."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("json") from None
    if isinstance(data, dict) and "readings" in data:
        data = data["readings"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data or len(data) > MAX_BATCH:
        raise Malformed("shape")
    if not all(isinstance(item, dict) for item in data):
        raise Malformed("shape")
    return data


def serial_from_topic(topic: str, prefix: str | None = None) -> str | None:
    """``<prefix>/<serial>/readings`` → serial (None for any other topic)."""
    prefix = (prefix or settings.SENSORS_TOPIC_PREFIX).rstrip("/")
    if not topic.startswith(prefix + "/") or not topic.endswith("/readings"):
        return None
    serial = topic[len(prefix) + 1 : -len("/readings")]
    return serial if serial and "/" not in serial else None


# --- the devices, as the ingestion sees them ----------------------------------------------------------------


@dataclass
class DeviceState:
    """What ingestion needs of a device (loaded in one query, kept between batches)."""

    id: int
    serial: str
    kind: str
    active: bool
    low: float | None
    high: float | None
    rate_per_minute: float | None
    recover_after: int
    minimum: float
    maximum: float
    last_at: dt.datetime | None
    last_value: float | None
    normal_streak: int
    alert_id: int | None = None
    alert_state: str | None = None

    @classmethod
    def of(cls, device: Any) -> DeviceState:
        """The state of one device, fresh from the database (the HTTP endpoint: one device per request)."""
        from tongxin.sensors.choices import OPEN_ALERT_STATES
        from tongxin.sensors.models import Alert

        spec = KINDS[device.kind]
        alert = (
            Alert.objects.filter(device=device, state__in=OPEN_ALERT_STATES)
            .values_list("id", "state")
            .first()
        )
        return cls(
            device.pk,
            device.serial,
            device.kind,
            device.active,
            device.low,
            device.high,
            device.rate_per_minute,
            device.recover_after,
            spec.minimum,
            spec.maximum,
            device.last_measured_at,
            device.last_value,
            device.normal_streak,
            alert_id=alert[0] if alert else None,
            alert_state=alert[1] if alert else None,
        )

    def in_band(self, v: float) -> bool:
        return (self.low is None or v >= self.low) and (self.high is None or v <= self.high)

    def crossing(self, t: dt.datetime, v: float) -> str | None:
        """The rule ``v`` at ``t`` breaks, if any (low and high first, then the rate of change)."""
        if self.low is not None and v < self.low:
            return AlertRule.LOW
        if self.high is not None and v > self.high:
            return AlertRule.HIGH
        if self.rate_per_minute is not None and self.last_at is not None and self.last_value is not None:
            if not self.in_band(self.last_value):
                return None  # coming back into the band from outside is a recovery, however fast
            minutes = (t - self.last_at).total_seconds() / 60.0
            if minutes > 0 and abs(v - self.last_value) / max(minutes, 1 / 60) > self.rate_per_minute:
                return AlertRule.RATE
        return None


class DeviceCache:
    """Devices by serial and id, reloaded every ``ttl`` seconds (and on an unknown serial, at most every
    ``miss_interval`` seconds) so new devices, changed thresholds and closed alerts are picked up."""

    def __init__(self, ttl: float = 30.0, miss_interval: float = 5.0) -> None:
        self.ttl = ttl
        self.miss_interval = miss_interval
        self.by_serial: dict[str, DeviceState] = {}
        self.by_id: dict[int, DeviceState] = {}
        self.loaded_at = 0.0
        self.missed_at = 0.0

    def reload(self) -> None:
        from tongxin.sensors.choices import OPEN_ALERT_STATES
        from tongxin.sensors.models import Alert, Device

        alerts = {
            d: (a, s)
            for d, a, s in Alert.objects.filter(state__in=OPEN_ALERT_STATES).values_list(
                "device_id", "id", "state"
            )
        }
        states = {}
        for row in Device.objects.values_list(
            "id",
            "serial",
            "kind",
            "active",
            "low",
            "high",
            "rate_per_minute",
            "recover_after",
            "last_measured_at",
            "last_value",
            "normal_streak",
        ):
            spec = KINDS[row[2]]
            alert_id, alert_state = alerts.get(row[0], (None, None))
            states[row[1]] = DeviceState(
                *row[:8], spec.minimum, spec.maximum, *row[8:], alert_id=alert_id, alert_state=alert_state
            )
        self.by_serial = states
        self.by_id = {s.id: s for s in states.values()}
        self.loaded_at = time.monotonic()

    def fresh(self) -> None:
        if time.monotonic() - self.loaded_at > self.ttl:
            self.reload()

    def get(self, serial: str) -> DeviceState | None:
        self.fresh()
        state = self.by_serial.get(serial)
        if state is None and time.monotonic() - self.missed_at > self.miss_interval:
            self.missed_at = time.monotonic()
            self.reload()
            state = self.by_serial.get(serial)
        return state

    def get_id(self, device_id: int) -> DeviceState | None:
        self.fresh()
        state = self.by_id.get(device_id)
        if state is None:
            self.reload()
            state = self.by_id.get(device_id)
        return state


# --- one batch -------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    counts: Counter = field(default_factory=Counter)  # outcome -> readings (malformed: payloads)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (index in the batch, reason)
    alerts_opened: int = 0

    @property
    def stored(self) -> int:
        return self.counts[STORED]

    @property
    def duplicates(self) -> int:
        return self.counts[DUPLICATE]


# An entry of a batch: the device (a serial from the topic or a state already known from a token), the raw time
# and value; or ``None`` for a payload that could not be read at all.
Entry = tuple[str | DeviceState, Any, Any] | None


class Ingestor:
    """Validates and stores batches for one source (MQTT or HTTP)."""

    def __init__(self, source: str, cache: DeviceCache | None = None) -> None:
        self.source = source
        self.cache = cache or DeviceCache()
        self.totals: Counter = Counter()

    def process(self, entries: Sequence[Entry], now: dt.datetime | None = None) -> Outcome:
        now = now or timezone.now()
        out = Outcome()
        max_future = dt.timedelta(seconds=settings.SENSORS_MAX_FUTURE_SECONDS)
        max_age = dt.timedelta(days=settings.SENSORS_MAX_AGE_DAYS)
        good: dict[tuple[int, dt.datetime], tuple[DeviceState, float]] = {}
        for index, entry in enumerate(entries):
            reason = None
            if entry is None:
                reason = Rejection.MALFORMED
            else:
                who, raw_t, raw_v = entry
                state = who if isinstance(who, DeviceState) else self.cache.get(who)
                try:
                    t, v = parse_time(raw_t), parse_value(raw_v)
                except Malformed:
                    reason = Rejection.MALFORMED
                else:
                    if state is None:
                        reason = Rejection.UNKNOWN_DEVICE
                    elif not state.active:
                        reason = Rejection.INACTIVE_DEVICE
                    elif not (math.isfinite(v) and state.minimum <= v <= state.maximum):
                        reason = Rejection.IMPOSSIBLE_VALUE
                    elif t > now + max_future:
                        reason = Rejection.CLOCK_SKEW
                    elif t < now - max_age:
                        reason = Rejection.TOO_OLD
                    else:
                        good[(state.id, t)] = (state, v)  # a repeat inside the batch: the last one wins
            if reason is not None:
                out.counts[reason] += 1
                out.rejected.append((index, str(reason)))
        rows = [(device_id, t, v) for (device_id, t), (_state, v) in good.items()]
        with transaction.atomic():
            stored = insert_readings(rows) if rows else 0
            out.counts[STORED] += stored
            out.counts[DUPLICATE] += len(rows) - stored
            ordered = sorted(
                ((state, t, v) for (_d, t), (state, v) in good.items()), key=lambda r: (r[0].id, r[1])
            )
            out.alerts_opened = self._evaluate(ordered)
            add_counts(self.source, out.counts, now)
        if out.counts[Rejection.UNKNOWN_DEVICE] or out.counts[Rejection.MALFORMED]:
            logger.warning("ingest %s: %s", self.source, dict(out.counts))
        self.totals.update(out.counts)
        return out

    def _evaluate(self, readings: Iterable[tuple[DeviceState, dt.datetime, float]]) -> int:
        """Move alerts for the new readings (time order per device); update the devices' last reading."""
        from tongxin.sensors import services

        opened = 0
        touched: dict[int, DeviceState] = {}
        extra_crossings: dict[int, list[float]] = defaultdict(list)  # active alert id -> values
        for state, t, v in readings:
            if state.last_at is not None and t <= state.last_at:
                continue  # a late reading: history only
            rule = state.crossing(t, v)
            state.last_at, state.last_value = t, v
            touched[state.id] = state
            if rule is not None:
                state.normal_streak = 0
                if state.alert_state == AlertState.ACTIVE and state.alert_id is not None:
                    extra_crossings[state.alert_id].append(v)
                    continue
                try:
                    alert, created = services.raise_alert(state.id, rule, t, v)
                except Exception:  # e.g. no case category: the readings are stored all the same
                    logger.exception("alert for device %s (%s) could not be raised", state.serial, rule)
                    continue
                opened += created
                state.alert_id, state.alert_state = alert.pk, alert.state
            else:
                state.normal_streak += 1
                if (
                    state.alert_state == AlertState.ACTIVE
                    and state.alert_id is not None
                    and state.normal_streak >= state.recover_after
                ):
                    self._flush_crossings(extra_crossings, state)
                    try:
                        alert = services.recover_alert(state.alert_id, t, v)
                    except Exception:
                        logger.exception("recovery of alert %s could not be recorded", state.alert_id)
                        continue
                    state.alert_id = alert.pk if alert.is_open else None
                    state.alert_state = alert.state if alert.is_open else None
        for alert_id, values in extra_crossings.items():
            if not services.count_crossings(alert_id, len(values), values[-1]):
                # the alert was closed meanwhile (its case finished): the next crossing opens a new one
                for state in touched.values():
                    if state.alert_id == alert_id:
                        state.alert_id = state.alert_state = None
        update_devices(list(touched.values()))
        return opened

    @staticmethod
    def _flush_crossings(extra: dict[int, list[float]], state: DeviceState) -> None:
        from tongxin.sensors import services

        values = extra.pop(state.alert_id or 0, None)
        if values:
            services.count_crossings(state.alert_id or 0, len(values), values[-1])


# --- SQL -----------------------------------------------------------------------------------------------------


def insert_readings(rows: list[tuple[int, dt.datetime, float]]) -> int:
    """Insert ``(device_id, measured_at, value)`` rows, skipping those already stored; return how many were new.
    PostgreSQL: binary COPY into a temporary table and one ``INSERT … SELECT … ON CONFLICT DO NOTHING``;
    SQLite: one ``executemany`` of ``INSERT … ON CONFLICT DO NOTHING``."""
    if connection.vendor == "postgresql":
        return _insert_postgres(rows)
    return _insert_sqlite(rows)


def _insert_postgres(rows: list[tuple[int, dt.datetime, float]]) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS sensors_reading_in "
            "(device_id bigint, measured_at timestamptz, value float8) ON COMMIT DELETE ROWS"
        )
        with cur.cursor.copy(
            "COPY sensors_reading_in (device_id, measured_at, value) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "timestamptz", "float8"])
            for row in rows:
                copy.write_row(row)
        cur.execute(
            "INSERT INTO sensors_reading (device_id, measured_at, value) "
            "SELECT device_id, measured_at, value FROM sensors_reading_in ON CONFLICT DO NOTHING"
        )
        stored = cur.rowcount
        cur.execute("TRUNCATE sensors_reading_in")
    return stored


def _insert_sqlite(rows: list[tuple[int, dt.datetime, float]]) -> int:
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cur:
        cur.executemany(
            "INSERT INTO sensors_reading (device_id, measured_at, value) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            [(d, adapt(t), v) for d, t, v in rows],
        )
        return cur.rowcount


def update_devices(states: list[DeviceState]) -> None:
    """The devices' last reading, streak and ``online`` in one UPDATE (never moving a last reading backwards,
    whichever ingestor wrote last)."""
    if not states:
        return
    pg = connection.vendor == "postgresql"
    adapt = connection.ops.adapt_datetimefield_value
    row = "(%s::bigint, %s::timestamptz, %s::float8, %s::integer)" if pg else "(%s, %s, %s, %s)"
    params: list[Any] = []
    for s in states:
        params += [s.id, adapt(s.last_at), s.last_value, s.normal_streak]
    values = ", ".join([row] * len(states))
    sql = (
        "UPDATE sensors_device SET last_measured_at = v.t, last_value = v.val, normal_streak = v.streak, "
        f"online = %s FROM (VALUES {values}) AS v (id, t, val, streak) "
        "WHERE sensors_device.id = v.id "
        "AND (sensors_device.last_measured_at IS NULL OR sensors_device.last_measured_at <= v.t)"
    )
    if not pg:  # SQLite names VALUES columns column1..; alias them through a subquery
        sql = (
            "UPDATE sensors_device SET last_measured_at = v.t, last_value = v.val, normal_streak = v.streak, "
            "online = %s FROM (SELECT column1 AS id, column2 AS t, column3 AS val, column4 AS streak "
            f"FROM (VALUES {values})) AS v WHERE sensors_device.id = v.id "
            "AND (sensors_device.last_measured_at IS NULL OR sensors_device.last_measured_at <= v.t)"
        )
    with connection.cursor() as cur:
        cur.execute(sql, [True, *params])


def add_counts(source: str, counts: Counter, now: dt.datetime | None = None) -> None:
    """Add to the day's ingest counters (one upsert for the batch)."""
    rows = [(outcome, n) for outcome, n in counts.items() if n]
    if not rows:
        return
    day = timezone.localdate(now or timezone.now())
    marks = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params: list[Any] = []
    for outcome, n in rows:
        params += [day, source, str(outcome), n]
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO sensors_ingestcount (day, source, outcome, count) VALUES {marks} "
            "ON CONFLICT (day, source, outcome) DO UPDATE SET count = sensors_ingestcount.count + excluded.count",
            params,
        )


def mqtt_entries(messages: Iterable[tuple[str, bytes]], prefix: str | None = None) -> list[Entry]:
    """Batch entries from MQTT ``(topic, payload)`` pairs: a payload that cannot be read is one ``None``."""
    head = (prefix or settings.SENSORS_TOPIC_PREFIX).rstrip("/") + "/"
    tail = "/readings"
    entries: list[Entry] = []
    for topic, payload in messages:
        serial = topic[len(head) : -len(tail)] if topic.startswith(head) and topic.endswith(tail) else ""
        if not serial or "/" in serial:
            entries.append(None)
            continue
        try:
            items = parse_payload(payload)
        except Malformed:
            entries.append(None)
            continue
        entries.extend((serial, item.get("t"), item.get("v")) for item in items)
    return entries


__all__ = [
    "DUPLICATE",
    "STORED",
    "DeviceCache",
    "DeviceState",
    "Ingestor",
    "Malformed",
    "Outcome",
    "Source",
    "insert_readings",
    "mqtt_entries",
    "parse_payload",
    "parse_time",
]
