"""The transactional outbox (Notification) and who follows what (Subscription).

A Notification row is written in the SAME transaction as the change that causes it (see
``services.notification_enqueue`` and ``receivers``), so a rolled-back change leaves no
message and a committed one always has its messages. In-app rows are delivered by being
written (status ``sent`` at once); SMS and WeChat rows wait as ``pending`` until the
dispatcher (``dispatch.deliver_pending``) hands them to a gateway. ``dedupe_key`` is unique:
the same cause never yields two messages for one recipient and channel."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.notifications.enums import NotificationChannel, NotificationStatus

ADDRESS_CONTEXT = "notifications.address"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    # An external address (phone number or WeChat openid), encrypted; masked for display.
    address_cipher = models.TextField(_("接收地址(密文)"), blank=True)
    address_masked = models.CharField(_("接收地址"), max_length=64, blank=True)
    channel = models.CharField(_("渠道"), max_length=10, choices=NotificationChannel.choices)
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), max_length=2000, blank=True)
    # The object it is about (generic, without a foreign key: e.g. "cases.case", "42").
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    area_code = models.CharField(_("辖区编码"), max_length=20, blank=True)

    status = models.CharField(
        _("状态"), max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("发送次数"), default=0)
    available_at = models.DateTimeField(_("可发送时间"))
    lease_until = models.DateTimeField(_("租约到期"), null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "channel", "-created_at"], name="notif_inbox"),
            models.Index(fields=["recipient", "read_at"], name="notif_unread"),
            models.Index(fields=["status", "available_at"], name="notif_due"),
            models.Index(fields=["status", "lease_until"], name="notif_lease"),
            models.Index(fields=["object_type", "object_id"], name="notif_object"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False) | ~models.Q(address_cipher=""),
                name="notif_has_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.subject}"


class Subscription(models.Model):
    """Someone follows one case or an area (a grid or community: its code and everything
    below it). A staff member follows as a user (in-app); a resident follows a case by its
    tracking code with a phone number (SMS) or a WeChat openid."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("关注人"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    channel = models.CharField(
        _("渠道"), max_length=10, choices=NotificationChannel.choices, default=NotificationChannel.IN_APP
    )
    address_cipher = models.TextField(_("接收地址(密文)"), blank=True)
    address_masked = models.CharField(_("接收地址"), max_length=64, blank=True)
    address_digest = models.CharField(max_length=64, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("案件"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    area_code = models.CharField(_("关注区域编码"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("关注时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("关注")
        verbose_name_plural = _("关注")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["case"], name="sub_case"),
            models.Index(fields=["area_code"], name="sub_area"),
            models.Index(fields=["user", "-created_at"], name="sub_user"),
        ]
        constraints = [
            # Exactly one target: a case or an area.
            models.CheckConstraint(
                condition=(models.Q(case__isnull=False) & models.Q(area_code=""))
                | (models.Q(case__isnull=True) & ~models.Q(area_code="")),
                name="sub_one_target",
            ),
            # Exactly one follower: a user or an external address.
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(address_digest=""))
                | (models.Q(user__isnull=True) & ~models.Q(address_digest="")),
                name="sub_one_follower",
            ),
            models.UniqueConstraint(
                fields=["user", "case"],
                condition=models.Q(user__isnull=False, case__isnull=False),
                name="sub_user_case",
            ),
            models.UniqueConstraint(
                fields=["user", "area_code"],
                condition=models.Q(user__isnull=False, case__isnull=True),
                name="sub_user_area",
            ),
            models.UniqueConstraint(
                fields=["address_digest", "channel", "case"],
                condition=models.Q(user__isnull=True),
                name="sub_address_case",
            ),
        ]

    def __str__(self) -> str:
        who = str(self.user) if self.user_id else self.address_masked
        what = f"case {self.case_id}" if self.case_id else self.area_code
        return f"{who} -> {what}"
