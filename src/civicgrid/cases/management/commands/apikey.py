"""`civicgrid apikey create NAME [--rate N]` | `list` | `revoke PREFIX`: Open311 client keys."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicgrid.cases import apikeys
from civicgrid.cases.models import ApiKey
from civicgrid.common.errors import DomainError


class Command(BaseCommand):
    help = "管理 Open311 等接口的客户端密钥: create 新建 (密钥只显示一次), list 列出, revoke 吊销。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="新建密钥并显示一次")
        create.add_argument("name", help="客户端名称")
        create.add_argument("--rate", type=int, default=60, help="每分钟请求上限, 默认 60")
        sub.add_parser("list", help="列出密钥 (不含密钥本身)")
        revoke = sub.add_parser("revoke", help="吊销密钥")
        revoke.add_argument("prefix", help="密钥前缀 (cg_<前缀>_... 中间部分)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "create":
                issued = apikeys.apikey_create(name=options["name"], rate_per_minute=options["rate"])
                self.stdout.write(f"已创建密钥 {issued.api_key.name} (前缀 {issued.api_key.prefix})")
                self.stdout.write("密钥只显示这一次, 请妥善保存:")
                self.stdout.write(issued.plaintext)
            elif action == "list":
                for key in ApiKey.objects.order_by("created_at", "id"):
                    state = "已吊销" if key.revoked_at else "有效"
                    used = key.last_used_at.isoformat() if key.last_used_at else "-"
                    self.stdout.write(f"{key.prefix}\t{state}\t{key.rate_per_minute}/分钟\t{used}\t{key.name}")
            elif action == "revoke":
                key = apikeys.apikey_revoke(prefix=options["prefix"])
                self.stdout.write(f"已吊销密钥 {key.prefix} ({key.name})")
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
