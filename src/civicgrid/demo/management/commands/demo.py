"""`civicgrid demo`: build the Yuquan demo district (idempotent, deterministic) and serve it."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicgrid.demo.builder import DEFAULT_SEED, DemoBuildError, build_demo, format_accounts


class Command(BaseCommand):
    help = "构建玉泉区演示数据 (可重复运行, 同一种子结果相同), 然后启动服务。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--residents", type=int, default=20000, help="居民总数 (含清泉街社区的 8800 人), 默认 20000"
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"随机种子, 默认 {DEFAULT_SEED}")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="只构建数据, 不启动服务")
        parser.add_argument("--no-migrate", action="store_true", help="不运行数据库迁移")

    def handle(self, *args: Any, **options: Any) -> None:
        residents = options["residents"]
        if residents < 0:
            raise CommandError("--residents 不能为负数。")
        self.stdout.write(f"构建玉泉区演示数据: seed={options['seed']}, 居民 {residents} 人")
        # The raw stream: progress lines redraw in place with "\r" on a terminal.
        stream: Any = getattr(self.stdout, "_out", self.stdout)
        try:
            result = build_demo(
                seed=options["seed"],
                residents=residents,
                out=stream,
                migrate=not options["no_migrate"],
            )
        except DemoBuildError as exc:
            raise CommandError(str(exc)) from exc
        counts = result.counts
        self.stdout.write(
            f"完成 ({result.seconds:.1f}s): 街道/镇 {counts['streets']}, 社区 {counts['communities']}, "
            f"网格 {counts['grids']}, 小区 {counts['compounds']}, 楼栋 {counts['buildings']}, "
            f"户 {counts['households']}, 路段 {counts['road_segments']}, 账号 {counts['accounts']}, "
            f"居民 {counts['residents']}"
        )
        host, port = options["host"], options["port"]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        self.stdout.write(format_accounts(result.accounts, f"http://{shown}:{port}/"))
        # (open311 helper) A fresh Open311 api_key for trying POST /open311/v2/requests.xml.
        from civicgrid.cases.apikeys import ensure_demo_api_key

        self.stdout.write(
            f"Open311 接口: http://{shown}:{port}/open311/v2/discovery.xml  api_key={ensure_demo_api_key()}"
        )
        if not options["no_serve"]:
            call_command("serve", host=host, port=port, no_migrate=True)
