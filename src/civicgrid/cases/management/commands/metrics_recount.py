"""``civicgrid metrics_recount [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--refresh] [--full]``:
recompute the metrics aggregate rows of the period from the cases and compare them with the
stored rows. Prints every difference; exits 1 on a mismatch, 2 when the aggregates were never
built or the input is bad, 0 when they agree."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from civicgrid.cases.aggregates import aggregate_recount, aggregate_state, case_aggregates_refresh

MAX_SHOWN = 50


class Command(BaseCommand):
    help = "核对案件统计汇总: 从案件原始记录重新计算并逐行比较 (不一致时退出码为 1)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", help="开始日期 YYYY-MM-DD (默认: 一年前)")
        parser.add_argument("--to", dest="last", help="结束日期 YYYY-MM-DD, 含当天 (默认: 今天)")
        parser.add_argument("--refresh", action="store_true", help="先刷新汇总 (已变更的日期)")
        parser.add_argument("--full", action="store_true", help="先全部重建汇总")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        try:
            first = dt.date.fromisoformat(options["first"]) if options["first"] else today - dt.timedelta(days=365)
            last = dt.date.fromisoformat(options["last"]) if options["last"] else today
        except ValueError:
            self.stderr.write("日期格式应为 YYYY-MM-DD")
            sys.exit(2)
        if last < first:
            self.stderr.write("结束日期不能早于开始日期")
            sys.exit(2)
        if options["refresh"] or options["full"]:
            refreshed = case_aggregates_refresh(full=bool(options["full"]))
            self.stdout.write(f"refreshed: {refreshed.as_dict()}")
        if aggregate_state().watermark is None:
            self.stderr.write("案件统计从未汇总 (先运行 --refresh)")
            sys.exit(2)
        result = aggregate_recount(first, last)
        self.stdout.write(
            f"{first} ~ {last}: {result.rows_checked} rows checked, "
            f"{len(result.dirty_days)} days changed since the last refresh (read from the cases, not checked)"
        )
        for diff in result.differences[:MAX_SHOWN]:
            self.stdout.write(f"  {diff}")
        if len(result.differences) > MAX_SHOWN:
            self.stdout.write(f"  ... {len(result.differences) - MAX_SHOWN} more")
        if not result.ok:
            self.stderr.write(f"不一致: {len(result.differences)} 行")
            sys.exit(1)
        self.stdout.write("一致 (OK)")
