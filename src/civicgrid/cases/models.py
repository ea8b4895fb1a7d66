"""The case engine's tables: categories, cases, their timeline and the routing table.

``Case.status`` is changed ONLY by ``civicgrid.cases.services.case_transition`` (through the
table in ``civicgrid.cases.workflow``); every change bumps ``Case.version`` (optimistic
locking) and writes one ``CaseEvent`` and one audit record."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.enums import DepartmentKind
from civicgrid.cases.enums import (
    AssistStatus,
    CaseAction,
    CaseStatus,
    Channel,
    NotAcceptedReason,
    Outcome,
    Priority,
    TargetKind,
    Tier,
)
from civicgrid.common.models import TimeStampedModel

# Hours from receipt to each deadline, by priority (签收 / 处置 / 结案).
DEFAULT_DEADLINE_HOURS: dict[str, dict[str, int]] = {
    Priority.URGENT: {"acknowledge": 1, "handle": 4, "close": 24},
    Priority.HIGH: {"acknowledge": 2, "handle": 24, "close": 48},
    Priority.NORMAL: {"acknowledge": 4, "handle": 72, "close": 120},
    Priority.LOW: {"acknowledge": 24, "handle": 168, "close": 240},
}

# Crockford base32 without I, L, O, U: easy to read out on the phone.
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_LENGTH = 10  # 50 bits: unguessable for a public tracking page


def default_deadline_hours() -> dict[str, dict[str, int]]:
    return {k: dict(v) for k, v in DEFAULT_DEADLINE_HOURS.items()}


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


class Category(TimeStampedModel):
    """A two-level case category (大类 > 小类) with its default handling and deadlines."""

    parent = models.ForeignKey(
        "self", verbose_name=_("上级类别"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    handling = models.CharField(
        _("默认处置单位"), max_length=20, choices=TargetKind.choices, default=TargetKind.GRID_CHIEF
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("指定部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="case_categories",
    )
    department_kind = models.CharField(_("部门类型"), max_length=32, choices=DepartmentKind.choices, blank=True)
    priority = models.CharField(_("默认优先级"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    deadline_hours = models.JSONField(
        _("时限(小时)"),
        default=default_deadline_hours,
        help_text=_('按优先级的签收、处置、结案时限, 例如 {"normal": {"acknowledge": 4, "handle": 72, "close": 120}}'),
    )
    is_public = models.BooleanField(_("对公众开放"), default=True)
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("案件类别")
        verbose_name_plural = _("案件类别")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id and self.parent else self.name

    def clean(self) -> None:
        if self.parent_id and self.parent and self.parent.parent_id:
            raise ValidationError({"parent": _("类别最多两级")})
        if self.handling == TargetKind.DEPARTMENT and not self.department_id:
            raise ValidationError({"department": _("默认处置单位为指定部门时必须选择部门")})
        if self.handling == TargetKind.DEPARTMENT_KIND and not self.department_kind:
            raise ValidationError({"department_kind": _("请选择部门类型")})
        hours = self.deadline_hours
        if not isinstance(hours, dict):
            raise ValidationError({"deadline_hours": _("时限必须是按优先级的字典")})
        for prio, spec in hours.items():
            if prio not in Priority.values or not isinstance(spec, dict):
                raise ValidationError({"deadline_hours": _("未知的优先级: %(p)s") % {"p": prio}})
            for kind, value in spec.items():
                if kind not in ("acknowledge", "handle", "close") or not isinstance(value, int | float) or value <= 0:
                    raise ValidationError({"deadline_hours": _("时限必须为正数小时: %(k)s") % {"k": kind}})

    def hours_for(self, priority: str) -> dict[str, float]:
        """Deadline hours for ``priority``: the category's own, then the defaults."""
        spec = dict(DEFAULT_DEADLINE_HOURS.get(priority, DEFAULT_DEADLINE_HOURS[Priority.NORMAL]))
        own = (self.deadline_hours or {}).get(priority) or {}
        spec.update({k: v for k, v in own.items() if k in spec})
        return {k: float(v) for k, v in spec.items()}


class Case(TimeStampedModel):
    """One case (案件): a problem, request or hazard reported by any channel."""

    tracking_code = models.CharField(_("查询码"), max_length=16, unique=True, default=new_tracking_code, editable=False)
    title = models.CharField(_("标题"), max_length=100)
    description = models.TextField(_("描述"), max_length=2000)
    category = models.ForeignKey(Category, verbose_name=_("类别"), on_delete=models.PROTECT, related_name="cases")
    priority = models.CharField(_("优先级"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("状态"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.RECEIVED, editable=False
    )
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    # Where: coordinates (WGS 84), address, the grid and the scope code.
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    grid = models.ForeignKey(
        "territory.Area", verbose_name=_("网格"), null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    # The grid's code, or the district's when the grid is unknown: the scope of the case.
    area_code = models.CharField(_("辖区编码"), max_length=20)

    # Who holds it now. In ASSIGNED_STATUSES exactly one owner applies: the handler if set,
    # else the department, else the tier unit (a territory node whose staff may sign for it).
    current_tier = models.CharField(_("当前层级"), max_length=10, choices=Tier.choices, default=Tier.GRID)
    current_handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("当前处置人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
    )
    current_department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("当前处置部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    current_unit = models.ForeignKey(
        "territory.Area",
        verbose_name=_("当前处置单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="unit_cases",
    )
    in_manual_queue = models.BooleanField(_("待人工派遣"), default=False)

    # The reporter. The phone is protected: cipher, masked copy, blind index (caller history).
    reporter_name = models.CharField(_("反映人"), max_length=50, blank=True)
    reporter_phone_cipher = models.TextField(_("反映人电话(密文)"), blank=True)
    reporter_phone_masked = models.CharField(_("反映人电话"), max_length=20, blank=True)
    reporter_phone_digest = models.CharField(max_length=64, blank=True)

    duplicate_of = models.ForeignKey(
        "self", verbose_name=_("合并至"), null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    outcome = models.CharField(_("结案结果"), max_length=20, choices=Outcome.choices, blank=True)
    not_accepted_reason = models.CharField(
        _("不予受理原因"), max_length=24, choices=NotAcceptedReason.choices, blank=True
    )
    satisfaction = models.PositiveSmallIntegerField(_("满意度(1-5)"), null=True, blank=True)
    resolved = models.BooleanField(_("问题是否解决"), null=True, blank=True)

    received_at = models.DateTimeField(_("受理时间"))
    registered_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    reported_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    evaluated_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    last_reopened_at = models.DateTimeField(_("最近重新处置时间"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重新处置次数"), default=0)
    rehandle_count = models.PositiveSmallIntegerField(_("发回重办次数"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)

    acknowledge_due = models.DateTimeField(_("签收时限"), null=True, blank=True)
    handle_due = models.DateTimeField(_("处置时限"), null=True, blank=True)
    close_due = models.DateTimeField(_("结案时限"), null=True, blank=True)
    warned_at = models.DateTimeField(_("预警时间"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("超期时间"), null=True, blank=True)
    escalation_count = models.PositiveSmallIntegerField(_("上报次数"), default=0)
    # The sweep's per-deadline marks ({"handle:overdue": iso, ...}): what it already did, so
    # running it twice changes nothing. Reset when the deadlines are recomputed.
    deadline_marks = models.JSONField(default=dict, blank=True, editable=False)

    is_hidden = models.BooleanField(_("对公众隐藏"), default=False)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_cases",
    )

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "current_handler"], name="case_status_handler"),
            models.Index(fields=["current_handler", "status", "-received_at"], name="case_handler_inbox"),
            models.Index(fields=["area_code", "status"], name="case_area_status"),
            models.Index(fields=["current_department", "status"], name="case_dept_status"),
            models.Index(fields=["current_unit", "status"], name="case_unit_status"),
            models.Index(fields=["status", "in_manual_queue"], name="case_manual_queue"),
            models.Index(fields=["area_code", "received_at"], name="case_area_received"),
            models.Index(fields=["status", "handle_due"], name="case_handle_due"),
            models.Index(fields=["status", "acknowledge_due"], name="case_ack_due"),
            models.Index(fields=["status", "close_due"], name="case_close_due"),
            models.Index(fields=["reporter_phone_digest"], name="case_reporter_phone"),
            models.Index(fields=["category", "status"], name="case_category_status"),
            models.Index(fields=["updated_at"], name="case_updated"),  # metrics aggregates: dirty days
            # Overdue lists (the screen, reports at a period's end): a few percent of the cases,
            # so a partial index stays small; without it the yearly report scanned every case.
            models.Index(
                fields=["overdue_at", "id"], condition=models.Q(overdue_at__isnull=False), name="case_overdue"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True) | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="case_satisfaction_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_code} {self.title}"

    @property
    def is_open(self) -> bool:
        from civicgrid.cases.enums import OPEN_STATUSES

        return self.status in OPEN_STATUSES


class CaseEvent(models.Model):
    """One line of a case's timeline: a transition (from -> to) or a note-like event."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("动作"), max_length=24, choices=CaseAction.choices)
    from_status = models.CharField(_("原状态"), max_length=20, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, choices=CaseStatus.choices, blank=True)
    # True when this event is a workflow action (audited as a transition).
    is_transition = models.BooleanField(default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="case_events",
    )
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    note = models.TextField(_("说明"), max_length=2000, blank=True)
    data = models.JSONField(default=dict, blank=True)
    area_code = models.CharField(max_length=20)
    occurred_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("案件动态")
        verbose_name_plural = _("案件动态")
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["case", "occurred_at", "id"], name="caseevent_timeline")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_status}->{self.to_status}"


class RoutingRule(TimeStampedModel):
    """One row of the routing table: cases of a category (or any) in a territory (area code
    prefix, or anywhere) go to a target. Rules are tried by ``order``, then the most specific
    area prefix first; the first that yields a target wins."""

    name = models.CharField(_("名称"), max_length=100)
    category = models.ForeignKey(
        Category,
        verbose_name=_("类别"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
        help_text=_("空表示所有类别; 选大类时包含其小类"),
    )
    area_prefix = models.CharField(
        _("辖区编码前缀"), max_length=20, blank=True, help_text=_("空表示全区; 例如某街道的9位编码")
    )
    target = models.CharField(_("派往"), max_length=20, choices=TargetKind.choices)
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
    )
    department_kind = models.CharField(_("部门类型"), max_length=32, choices=DepartmentKind.choices, blank=True)
    tier = models.CharField(_("层级"), max_length=10, choices=Tier.choices, blank=True)
    order = models.PositiveIntegerField(_("顺序"), default=100)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("派遣规则")
        verbose_name_plural = _("派遣规则")
        ordering = ["order", "-area_prefix", "id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    # Scope for the admin: a rule for a street is that street's.
    @property
    def area_code(self) -> str:
        return self.area_prefix

    def clean(self) -> None:
        if self.target == TargetKind.DEPARTMENT and not self.department_id:
            raise ValidationError({"department": _("派往指定部门时必须选择部门")})
        if self.target == TargetKind.DEPARTMENT_KIND and not self.department_kind:
            raise ValidationError({"department_kind": _("请选择部门类型")})
        if self.target == TargetKind.TIER and self.tier not in Tier.values:
            raise ValidationError({"tier": _("请选择层级")})
        if self.area_prefix and not self.area_prefix.isdigit():
            raise ValidationError({"area_prefix": _("辖区编码前缀只能是数字")})


class ResponseTemplate(TimeStampedModel):
    """A canned reply (常用答复) for operators and handlers."""

    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("内容"), max_length=2000)
    category = models.ForeignKey(
        Category, verbose_name=_("类别"), null=True, blank=True, on_delete=models.CASCADE, related_name="templates"
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("常用答复")
        verbose_name_plural = _("常用答复")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


def case_owner(case: Case) -> tuple[str, Any] | None:
    """The one current owner of an assigned case: ("handler", user_id), ("department", id)
    or ("unit", area_id); None when it sits in a queue or is finished."""
    if case.current_handler_id:
        return ("handler", case.current_handler_id)
    if case.current_department_id:
        return ("department", case.current_department_id)
    if case.current_unit_id:
        return ("unit", case.current_unit_id)
    return None


# --- Open311, API keys and webhooks (the machine intake channels; see docs/open311.md) ----------


class AttributeDatatype(models.TextChoices):
    """Open311 GeoReport v2 attribute datatypes."""

    STRING = "string", _("单行文本")
    NUMBER = "number", _("数字")
    DATETIME = "datetime", _("日期时间")
    TEXT = "text", _("多行文本")
    SINGLEVALUELIST = "singlevaluelist", _("单选")
    MULTIVALUELIST = "multivaluelist", _("多选")


class CategoryAttribute(models.Model):
    """An extra question a category asks (an Open311 service definition attribute)."""

    category = models.ForeignKey(Category, verbose_name=_("类别"), on_delete=models.CASCADE, related_name="attributes")
    code = models.CharField(_("编码"), max_length=50)
    datatype = models.CharField(_("数据类型"), max_length=16, choices=AttributeDatatype.choices)
    required = models.BooleanField(_("必填"), default=False)
    variable = models.BooleanField(_("需要填写"), default=True)
    description = models.CharField(_("问题"), max_length=300)
    datatype_description = models.CharField(_("填写说明"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("顺序"), default=1)
    # [{"key": "...", "name": "..."}] for the list datatypes.
    values = models.JSONField(_("可选值"), default=list, blank=True)

    class Meta:
        verbose_name = _("类别附加项")
        verbose_name_plural = _("类别附加项")
        ordering = ["category", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "code"], name="categoryattribute_unique_code")]

    def __str__(self) -> str:
        return f"{self.category_id}:{self.code}"

    def value_keys(self) -> list[str]:
        return [str(v.get("key")) for v in (self.values or []) if isinstance(v, dict)]

    def clean(self) -> None:
        lists = (AttributeDatatype.SINGLEVALUELIST, AttributeDatatype.MULTIVALUELIST)
        if self.datatype in lists and not self.value_keys():
            raise ValidationError({"values": _("单选或多选附加项必须列出可选值")})


class ApiKey(models.Model):
    """A client key for the machine APIs (Open311 POST). Only a SHA-256 digest of the key is
    stored; ``prefix`` (the public first part of the key) finds the row."""

    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    rate_per_minute = models.PositiveIntegerField(_("每分钟请求上限"), default=60)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口密钥")
        verbose_name_plural = _("接口密钥")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IntakeRecord(models.Model):
    """What a machine intake (Open311, API, patrol) sent besides the case itself: the request
    fingerprint (a retried Idempotency-Key with another payload is a conflict), the Open311
    token, attribute answers and media URL, and the key that sent it."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="intake_record")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    fingerprint = models.CharField(max_length=64, blank=True)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="intakes")
    token = models.CharField(max_length=40, null=True, blank=True, unique=True)
    attributes = models.JSONField(default=dict, blank=True)
    media_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("接口受理记录")
        verbose_name_plural = _("接口受理记录")

    def __str__(self) -> str:
        return f"{self.channel}:{self.case_id}"


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", _("待生成案件")
    PROCESSED = "processed", _("已生成案件")
    FAILED = "failed", _("生成失败")


class IntakeSubmission(models.Model):
    """A machine submission accepted but not yet turned into a case (accepted-then-processed
    intake: API-key clients of POST /api/cases/ and Open311 POST requests; see
    docs/open311.md). The request validated everything that can be refused and wrote this one
    row; the drainer (``cases.submissions.intake_drain``) turns pending rows into cases in
    batches (``services.case_intake_batch``) and links them here. ``payload`` holds the
    validated fields; the reporter's phone only as cipher, masked copy and blind index."""

    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices)
    payload = models.JSONField(_("提交内容"), default=dict, editable=False)
    register = models.BooleanField(null=True, editable=False)
    attributes = models.JSONField(default=dict, blank=True, editable=False)
    media_url = models.URLField(max_length=500, blank=True, editable=False)
    fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    api_key = models.ForeignKey(
        ApiKey, verbose_name=_("接口密钥"), null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    client_ip = models.GenericIPAddressField(_("来源IP"), null=True, blank=True, editable=False)
    # Namespaced like Case.idempotency_key (the case gets the same value).
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True, editable=False)
    token = models.CharField(_("令牌"), max_length=40, unique=True, editable=False)
    status = models.CharField(
        _("状态"), max_length=12, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING
    )
    case = models.OneToOneField(
        Case, verbose_name=_("案件"), null=True, blank=True, on_delete=models.SET_NULL, related_name="submission"
    )
    error = models.TextField(_("错误"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    available_at = models.DateTimeField(_("下次处理时间"))
    created_at = models.DateTimeField(_("受理时间"))
    processed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口提交")
        verbose_name_plural = _("接口提交")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The drainer's claim: pending rows by due time.
            models.Index(fields=["status", "available_at", "id"], name="intakesub_due"),
            models.Index(fields=["status", "-created_at"], name="intakesub_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.token}"


class WebhookSource(TimeStampedModel):
    """A camera / IoT platform allowed to post alerts. Its HMAC secret is stored encrypted
    (common.crypto), because verifying a signature needs the secret itself."""

    name = models.SlugField(_("名称"), max_length=40, unique=True)
    label = models.CharField(_("说明"), max_length=100, blank=True)
    secret_cipher = models.TextField(editable=False)
    # {"event_type": "category code"}; events not listed use default_category (or are refused).
    category_map = models.JSONField(_("事件类别对照"), default=dict, blank=True)
    default_category = models.CharField(_("默认类别编码"), max_length=32, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("告警接入源")
        verbose_name_plural = _("告警接入源")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One accepted alert delivery. (source, delivery_id) is unique: a redelivery returns the
    case the first one created."""

    source = models.ForeignKey(WebhookSource, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=100)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_deliveries")
    event_type = models.CharField(max_length=50, blank=True)
    camera = models.CharField(max_length=50, blank=True)
    event_time = models.DateTimeField(null=True, blank=True)
    snapshot_url = models.URLField(max_length=500, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("告警投递")
        verbose_name_plural = _("告警投递")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="webhookdelivery_unique_delivery")
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.delivery_id}"


# --- photos (pages work: civicgrid.cases.photos writes them) ---------------------------------


class PrivatePhotoStorage(FileSystemStorage):
    """Staff copies live under settings.CASES_PHOTO_PRIVATE_ROOT, outside MEDIA_ROOT (which
    /media/ serves to anyone); read at each use, so tests and deployments may move it."""

    @property
    def base_location(self) -> str:
        return str(settings.CASES_PHOTO_PRIVATE_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


def _private_storage() -> PrivatePhotoStorage:
    return PrivatePhotoStorage()


class PhotoKind(models.TextChoices):
    REPORT = "report", _("反映照片")
    BEFORE = "before", _("处置前")
    AFTER = "after", _("处置后")


class CasePhoto(models.Model):
    """A photo of a case. ``image`` is the staff copy (re-encoded, EXIF kept, stored outside
    MEDIA_ROOT and served by a scoped view); ``public_image`` is the public copy (re-encoded,
    every EXIF tag, GPS included, removed) under MEDIA_ROOT."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(_("类型"), max_length=10, choices=PhotoKind.choices, default=PhotoKind.REPORT)
    image = models.FileField(_("照片(内部)"), upload_to="cases/%Y/%m/", storage=_private_storage, max_length=200)
    public_image = models.FileField(_("照片(公开)"), upload_to="cases/public/%Y/%m/", max_length=200)
    width = models.PositiveIntegerField(_("宽"), default=0)
    height = models.PositiveIntegerField(_("高"), default=0)
    is_public = models.BooleanField(_("对公众显示"), default=True)
    area_code = models.CharField(max_length=20)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="case_photos",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("案件照片")
        verbose_name_plural = _("案件照片")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="casephoto_case")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} #{self.pk}"


# --- joint handling (联合处置; civicgrid.cases.joint writes them) ------------------------------


class CaseAssist(models.Model):
    """One co-handling department's part of a case (协办). The case's owner (the lead) asks a
    linkage department for help; the department signs for its part, works it and reports it
    back (or declines it with a reason); the lead may cancel it. ``status`` changes ONLY
    through ``civicgrid.cases.joint`` (the table ``workflow.ASSIST_TRANSITIONS``); every change
    bumps ``version`` (optimistic locking), writes a CaseEvent and an audit record."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="assists")
    department = models.ForeignKey(
        "accounts.Department", verbose_name=_("协办单位"), on_delete=models.PROTECT, related_name="case_assists"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=AssistStatus.choices, default=AssistStatus.REQUESTED, editable=False
    )
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    # The case's scope code (copied at request time): audit records and scoped reads.
    area_code = models.CharField(_("辖区编码"), max_length=20)
    note = models.TextField(_("协办事项"), max_length=2000)
    response = models.TextField(_("协办结果或拒绝原因"), max_length=2000, blank=True)
    cancel_reason = models.TextField(_("撤回原因"), max_length=2000, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("请求人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requested_assists",
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("签收人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="acknowledged_assists",
    )
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("反馈人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responded_assists",
    )
    requested_at = models.DateTimeField(_("请求时间"))
    due_at = models.DateTimeField(_("协办时限"))
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    responded_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    # Set once by the deadline sweep (``deadlines.assist_sweep``): the warning before ``due_at``
    # and the overdue mark after it. Not status changes: the part stays open until acted on.
    warned_at = models.DateTimeField(_("临期预警时间"), null=True, blank=True, editable=False)
    overdue_at = models.DateTimeField(_("超期时间"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("协办任务")
        verbose_name_plural = _("协办任务")
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(fields=["case", "requested_at"], name="caseassist_case"),
            models.Index(fields=["department", "status", "due_at"], name="caseassist_dept_inbox"),
            # The deadline sweep: open parts by deadline.
            models.Index(fields=["status", "due_at"], name="caseassist_sweep"),
        ]
        constraints = [
            # One open part per department and case (a declined or cancelled one may be asked again).
            models.UniqueConstraint(
                fields=["case", "department"],
                condition=models.Q(status__in=["requested", "acknowledged"]),
                name="caseassist_one_open_per_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} / {self.department_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        from civicgrid.cases.enums import OPEN_ASSIST_STATUSES

        return self.status in OPEN_ASSIST_STATUSES

    def is_overdue(self, now: Any = None) -> bool:
        """Marked overdue by the sweep, or open past its deadline (the sweep has not run yet)."""
        if self.overdue_at is not None:
            return True
        from django.utils import timezone

        return self.is_open and self.due_at < (now or timezone.now())


# --- metrics aggregates (civicgrid.cases.aggregates writes them; see docs/cases-metrics.md) --------

# Response time (acknowledged - received) and handling time (closed - received) are kept as
# cumulative histograms: column rcNN counts the cases acknowledged less than
# AGG_RESPONSE_BASE_S * AGG_BUCKET_RATIO**NN seconds after receipt, hcNN the same for closing.
AGG_EDGES = 39
AGG_BUCKET_RATIO = 2 ** (1 / 3)
AGG_RESPONSE_BASE_S = 60.0
AGG_HANDLING_BASE_S = 1800.0
AGG_COUNT_FIELDS = (
    "received",
    "closed",
    "dispatched",
    "signed_on_time",
    "closed_on_time",
    "evaluated",
    "resolved",
    "satisfied",
    "rehandled",
    "repeat_complaints",
    "acknowledged",
)
AGG_HIST_FIELDS = tuple(f"rc{k:02d}" for k in range(AGG_EDGES)) + tuple(f"hc{k:02d}" for k in range(AGG_EDGES))


class CaseCohortAggregate(models.Model):
    """Counts of the cases RECEIVED on one local day (the cohort), in their current state, per
    (area, category, department, channel). Levels: FINE (the case's own area code, leaf
    category, current department or 0), COARSE (the street code, top-level category,
    department 0 = any): the coarse rows answer district and street questions with far
    fewer rows; MONTH (the coarse key, ``day`` = the first of the month: the sum of the
    month's coarse rows); DAY (the coarse key without the channel, ``channel`` = "": what the
    trends by day and week read). Rebuilt day by day by ``aggregates.case_aggregates_refresh``."""

    FINE = 0
    COARSE = 1
    MONTH = 2
    DAY = 3

    level = models.PositiveSmallIntegerField()
    day = models.DateField()
    area_code = models.CharField(max_length=20)
    category_id = models.IntegerField()
    department_id = models.IntegerField(default=0)
    channel = models.CharField(max_length=16)
    received = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    dispatched = models.IntegerField(default=0)
    signed_on_time = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    evaluated = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    rehandled = models.IntegerField(default=0)
    repeat_complaints = models.IntegerField(default=0)
    acknowledged = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("案件统计汇总")
        verbose_name_plural = _("案件统计汇总")
        # The unique key's index (level, day, area_code, ...) serves the period and scope reads.
        constraints = [
            models.UniqueConstraint(
                fields=["level", "day", "area_code", "category_id", "department_id", "channel"],
                name="caseagg_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.level}:{self.day}:{self.area_code}:{self.category_id}:{self.department_id}:{self.channel}"


for _name in AGG_HIST_FIELDS:
    CaseCohortAggregate.add_to_class(_name, models.IntegerField(default=0))


class CaseAggregateState(models.Model):
    """The one row (pk=1) of the aggregates' bookkeeping. Every case changed at or after
    ``watermark`` (``Case.updated_at``) may not be in the aggregate rows yet: its day is read
    from the cases themselves. None: never built (every figure comes from the cases)."""

    watermark = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    full_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_days = models.PositiveIntegerField(default=0)
    last_seconds = models.FloatField(default=0)

    class Meta:
        verbose_name = _("案件统计汇总状态")
        verbose_name_plural = _("案件统计汇总状态")

    def __str__(self) -> str:
        return f"watermark={self.watermark}"
