from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    REVEAL = "reveal", _("查看敏感信息")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    LOCKOUT = "lockout", _("账号锁定")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")
    TRANSITION = "transition", _("状态变更")
    PASSWORD_CHANGE = "password_change", _("修改密码")
    KEY_ROTATION = "key_rotation", _("密钥轮换")
    PURGE = "purge", _("清理过期审计记录")
