"""Load the demo community: 干河街道 with 满庭春社区 and 大新社区 (富丰新城), their people, party organisation,
co-building units, departments, the property company, one login per role, then every app's own demo rows.

The command knows no domain app: it runs every app's ``demo.py`` found by name (see :mod:`tongxin.core.demo`):
first each ``foundation(ctx)`` (regions, people, party, accounts) in one transaction from one seeded rng, then
each ``load(rng, out)``. Deterministic (``--seed``), idempotent (a second run says so and does nothing;
``--reset`` starts over) and set-based. See docs/demo.md. Refused under ``TONGXIN_ENV=production`` (its logins
share one published password) unless ``--i-know-this-is-production`` is given, e.g. for a training server.
"""

from __future__ import annotations

import random
import time
import traceback
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tongxin.core import demo
from tongxin.core.audit import record
from tongxin.core.models import AuditLog


class Command(BaseCommand):
    help = "载入演示社区（干河街道：满庭春社区、大新社区）及每个角色的演示账号。Load the demo community."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=demo.SEED, help="random seed (default: %(default)s)")
        parser.add_argument(
            "--scale", type=float, default=1.0, help="fraction of the full size, e.g. 0.02 for tests"
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="unapply and re-apply the project's migrations (drops ALL data), then load",
        )
        parser.add_argument("--foundation-only", action="store_true", help="skip the apps' demo.py loaders")
        parser.add_argument(
            "--strict", action="store_true", help="fail when an app's demo loader fails (default: warn)"
        )
        parser.add_argument(
            "--i-know-this-is-production",
            action="store_true",
            dest="production_ok",
            help="load the demo even under TONGXIN_ENV=production (a training server, never a live one)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if settings.PRODUCTION and not opts["production_ok"]:
            raise CommandError(
                "TONGXIN_ENV=production: the demo is not loaded into a production database — it adds made-up"
                f" residents and {len(demo.DEMO_LOGINS)} logins that share the published password"
                f" {demo.PASSWORD!r}. On a training server that must have it, add --i-know-this-is-production."
            )
        if not 0 < opts["scale"] <= 1:
            raise CommandError("--scale must be in (0, 1]")
        if opts["reset"]:
            self._reset()
        loaded = AuditLog.objects.filter(object_type=demo.AUDIT_TYPE, action=AuditLog.Action.IMPORT).first()
        if loaded is not None:
            residents = (loaded.after or {}).get("residents", "?")
            self.stdout.write(
                f"演示数据已加载，未做任何改动 (demo already loaded, nothing done; use --reset to reload). "
                f"{residents} residents."
            )
            return
        started = time.monotonic()
        with transaction.atomic():
            ctx = demo.DemoContext(opts["seed"], opts["scale"], self.stdout)
            for _app, step in demo.foundation_steps():
                step(ctx)
            record(
                AuditLog.Action.IMPORT,
                object_type=demo.AUDIT_TYPE,
                after={"seed": ctx.seed, "scale": ctx.scale, **ctx.summary},
            )
        self.stdout.write(f"foundation loaded in {time.monotonic() - started:.1f} s")
        if not opts["foundation_only"]:
            self._run_apps(opts["seed"], opts["strict"])
        self.stdout.write(
            self.style.SUCCESS(f"演示数据已载入 (demo loaded) in {time.monotonic() - started:.1f} s")
        )

    def _reset(self) -> None:
        self.stdout.write("--reset: unapplying the project's migrations (all data is dropped) ...")
        try:
            call_command("migrate", "core", "zero", interactive=False, verbosity=0)
        except Exception as exc:
            raise CommandError(
                f"could not unapply migrations ({exc}); on SQLite run `make clean && make demo` instead"
            ) from exc
        call_command("migrate", interactive=False, verbosity=0)
        from django.contrib.sessions.models import Session

        Session.objects.all().delete()

    def _run_apps(self, seed: int, strict: bool) -> None:
        for app, load in demo.app_demo_modules():
            started = time.monotonic()
            try:
                with transaction.atomic():
                    load(random.Random(seed), self.stdout)
            except Exception:
                if strict:
                    raise
                self.stderr.write(f"{app}.demo failed (its rows were rolled back):\n{traceback.format_exc()}")
                continue
            self.stdout.write(f"{app}.demo loaded in {time.monotonic() - started:.1f} s")
