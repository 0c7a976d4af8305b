"""Print the demo logins: one per role, what each one sees, and whether it exists in this database."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand

from tongxin.core.demo import DEMO_LOGINS, PASSWORD
from tongxin.core.models import User


def width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, cols: int) -> str:
    return text + " " * max(0, cols - width(text))


class Command(BaseCommand):
    help = "打印演示账号（每个角色一个）。Print the demo logins, one per role."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")

    def handle(self, *args: Any, **opts: Any) -> None:
        existing = set(
            User.objects.filter(username__in=[d.username for d in DEMO_LOGINS]).values_list(
                "username", flat=True
            )
        )
        header = ("角色", "Role", "用户名 username", "密码 password", "能看到什么 sees")
        rows = [(d.role_zh, d.role_en, d.username, PASSWORD, d.sees) for d in DEMO_LOGINS]
        if opts["markdown"]:
            self.stdout.write("| " + " | ".join(header) + " |")
            self.stdout.write("|" + "---|" * len(header))
            for r in rows:
                self.stdout.write(f"| {r[0]} | {r[1]} | `{r[2]}` | `{r[3]}` | {r[4]} |")
            return
        cols = [max(width(r[i]) for r in [header, *rows]) for i in range(4)]
        self.stdout.write(f"演示账号 Demo logins (密码 password: {PASSWORD})")
        line = "  ".join(pad(header[i], cols[i]) for i in range(4)) + "  " + header[4]
        self.stdout.write(line)
        self.stdout.write("-" * min(120, width(line)))
        for r in rows:
            mark = "" if r[2] in existing else "   (未载入 not loaded: run `manage.py load_demo`)"
            self.stdout.write("  ".join(pad(r[i], cols[i]) for i in range(4)) + "  " + r[4] + mark)
