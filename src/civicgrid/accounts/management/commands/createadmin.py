"""`civicgrid createadmin`: create one of the three separated administrators (三员分立) or a
superuser. There is no default password: it is typed twice (getpass) or, for scripts,
read from standard input with --password-stdin, and must pass every password validator."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.audit.diff import model_diff
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.territory.models import Area

SUPERUSER = "superuser"
CHOICES = [Role.SYSTEM_ADMIN.value, Role.SECURITY_ADMIN.value, Role.AUDIT_ADMIN.value, SUPERUSER]
LABELS = {
    Role.SYSTEM_ADMIN.value: "系统管理员",
    Role.SECURITY_ADMIN.value: "安全管理员",
    Role.AUDIT_ADMIN.value: "审计管理员",
    SUPERUSER: "超级用户(仅用于初始化, 建议用后停用)",
}


class Command(BaseCommand):
    help = "创建系统管理员、安全管理员、审计管理员或超级用户账号 (无默认密码)。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", help="用户名")
        parser.add_argument("--role", choices=CHOICES, help="角色")
        parser.add_argument("--area", default=None, help="绑定的辖区编码 (默认: 唯一的顶级辖区)")
        parser.add_argument("--display-name", default="", help="姓名")
        parser.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码 (一行)")
        parser.add_argument("--noinput", "--no-input", action="store_true", help="不交互; 需要 --username --role")

    def handle(self, *args: Any, **options: Any) -> None:
        interactive = not options["noinput"] and not options["password_stdin"]
        username = options["username"] or (self._ask("用户名: ") if interactive else "")
        if not username:
            raise CommandError("需要用户名 (--username)")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"用户名 {username} 已存在")
        role = options["role"] or (self._ask_role() if interactive else "")
        if role not in CHOICES:
            raise CommandError("需要角色 (--role): " + ", ".join(CHOICES))
        area = self._area(options["area"])

        user = User(
            username=username,
            display_name=options["display_name"],
            role=Role.SYSTEM_ADMIN if role == SUPERUSER else role,
            is_superuser=role == SUPERUSER,
            area=area,
        )
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
        elif interactive:
            password = self._ask_password(user)
        else:
            raise CommandError("非交互方式需要 --password-stdin")
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("密码不符合要求: " + " ".join(exc.messages)) from exc
        with transaction.atomic():
            user.set_password(password)
            user.full_clean(exclude=["password"])
            user.save()
            audit_record(
                action=AuditAction.CREATE,
                obj=user,
                area_code=area.code if area else "",
                changes=model_diff(None, user, exclude=["date_joined", "password_changed_at"]),
                actor_label="createadmin",
                message="createadmin",
            )
        where = f" · {area.name}" if area else ""
        self.stdout.write(self.style.SUCCESS(f"已创建 {LABELS[role]} {username}{where}"))

    # --- prompts ------------------------------------------------------------------------
    def _ask(self, prompt: str) -> str:
        try:
            return input(prompt).strip()
        except EOFError as exc:
            raise CommandError("已取消") from exc

    def _ask_role(self) -> str:
        for i, choice in enumerate(CHOICES, 1):
            self.stdout.write(f"  {i}. {LABELS[choice]} ({choice})")
        answer = self._ask("角色编号: ")
        if answer.isdigit() and 1 <= int(answer) <= len(CHOICES):
            return CHOICES[int(answer) - 1]
        return answer

    def _ask_password(self, user: User) -> str:
        for _attempt in range(3):
            first = getpass.getpass("密码: ")
            second = getpass.getpass("再次输入密码: ")
            if first != second:
                self.stderr.write("两次输入的密码不一致。")
                continue
            try:
                password_validation.validate_password(first, user)
            except ValidationError as exc:
                self.stderr.write("密码不符合要求: " + " ".join(exc.messages))
                continue
            return first
        raise CommandError("密码设置失败")

    def _area(self, code: str | None) -> Area | None:
        if code:
            area = Area.objects.filter(code=code).first()
            if area is None:
                raise CommandError(f"辖区编码 {code} 不存在")
            return area
        roots = list(Area.objects.filter(parent__isnull=True)[:2])
        return roots[0] if len(roots) == 1 else None
