"""`civicgrid webhooksource create NAME [--map EVENT=CATEGORY ...] [--default CATEGORY]` | `list`:
camera / IoT platforms allowed to post signed alerts to /api/cases/webhooks/NAME."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicgrid.cases import webhooks
from civicgrid.cases.models import Category, WebhookSource


class Command(BaseCommand):
    help = "管理视频探头/物联网告警接入源: create 新建 (签名密钥只显示一次), list 列出。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="新建接入源并显示一次签名密钥")
        create.add_argument("name", help="接入源名称 (字母、数字、-、_)")
        create.add_argument("--map", action="append", default=[], help="事件类型=类别编码, 可重复")
        create.add_argument("--default", default="", help="未列出的事件类型使用的类别编码")
        sub.add_parser("list", help="列出接入源")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for source in WebhookSource.objects.order_by("name"):
                state = "启用" if source.is_active else "停用"
                self.stdout.write(f"{source.name}\t{state}\t{source.category_map}\t{source.default_category or '-'}")
            return
        mapping: dict[str, str] = {}
        for item in options["map"]:
            event, _sep, code = item.partition("=")
            if not event or not code:
                raise CommandError(f"--map 应为 事件类型=类别编码: {item}")
            mapping[event.strip()] = code.strip()
        codes = set(mapping.values()) | ({options["default"]} if options["default"] else set())
        missing = codes - set(Category.objects.filter(code__in=codes).values_list("code", flat=True))
        if missing:
            raise CommandError(f"类别编码不存在: {', '.join(sorted(missing))}")
        try:
            source, secret = webhooks.webhook_source_create(
                name=options["name"], category_map=mapping, default_category=options["default"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"已创建接入源 {source.name}: POST /api/cases/webhooks/{source.name}")
        self.stdout.write("签名密钥只显示这一次, 请妥善保存:")
        self.stdout.write(secret)
