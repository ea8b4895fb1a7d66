"""`civicgrid audit verify` and `civicgrid audit purge [--dry-run]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicgrid.audit.chain import audit_purge_expired, retention_days, verify_chain


class Command(BaseCommand):
    help = "审计日志: verify 校验哈希链; purge 清理超过保存期限的记录。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="重新计算每条记录的哈希, 报告第一条被篡改或删除的记录")
        purge = sub.add_parser("purge", help="删除超过 AUDIT_RETENTION_DAYS (至少 180 天) 的记录")
        purge.add_argument("--dry-run", action="store_true", help="只统计, 不删除")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self._verify()
        else:
            self._purge(dry_run=options["dry_run"])

    def _verify(self) -> None:
        report = verify_chain()
        if report.ok:
            start = f", from checkpoint #{report.checkpoint_id}" if report.checkpoint_id else ""
            self.stdout.write(self.style.SUCCESS(f"audit chain OK: {report.checked} records{start}"))
            return
        first = report.first_bad
        for problem in report.problems:
            self.stderr.write(f"  {problem}")
        raise CommandError(
            f"audit chain BROKEN: first bad record #{first.record_id} ({first.kind})" if first else "audit chain BROKEN"
        )

    def _purge(self, *, dry_run: bool) -> None:
        result = audit_purge_expired(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {result.deleted} records older than {result.cutoff:%Y-%m-%d %H:%M} "
                f"(retention {retention_days()} days)"
            )
        )
