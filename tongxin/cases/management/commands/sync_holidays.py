"""``manage.py sync_holidays [--year 2026 ...] [--force]``: load the State Council's holidays and 调休 working
days (tongxin/cases/holidays_cn.py) into the holiday table that working-day deadlines read."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tongxin.cases import holidays_cn


class Command(BaseCommand):
    help = "载入国务院公布的节假日与调休上班日（工作日时限据此计算）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--year", type=int, action="append", help="只同步这些年份（可重复）")
        parser.add_argument("--force", action="store_true", help="覆盖管理员修改过的日期")

    def handle(self, *args: Any, **options: Any) -> None:
        years = tuple(options["year"] or ()) or None
        known = {d.year for d, _k, _n in holidays_cn.DAYS}
        unknown = sorted(set(years or ()) - known)
        if unknown:
            raise CommandError(
                f"没有 {', '.join(map(str, unknown))} 年的节假日数据：请先在 tongxin/cases/holidays_cn.py 或后台录入"
            )
        counts = holidays_cn.sync(years, force=options["force"])
        partial = sorted(known - set(holidays_cn.COMPLETE_YEARS))
        self.stdout.write(
            "节假日已同步：新增 {created}，更新 {updated}，移除 {removed}，保留管理员修改 {kept}".format(
                **counts
            )
        )
        if partial:
            self.stdout.write(
                f"注意：{', '.join(map(str, partial))} 年仅含法定节日，调休安排待国务院通知后补录"
            )
