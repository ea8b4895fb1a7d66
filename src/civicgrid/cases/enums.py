"""Choices of the case engine. Codes are English, labels Chinese (gettext msgids)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    RECEIVED = "received", _("已受理")
    REGISTERED = "registered", _("已立案")
    DISPATCHED = "dispatched", _("已派遣待签收")
    HANDLING = "handling", _("处置中")
    REPORTED = "reported", _("已反馈待核查")
    CLOSED = "closed", _("已结案")
    EVALUATED = "evaluated", _("已回访")
    NOT_ACCEPTED = "not_accepted", _("不予受理")
    TRANSFER_PENDING = "transfer_pending", _("转办待接收")
    MERGED = "merged", _("已合并")


# Statuses in which nobody works on the case any more.
TERMINAL_STATUSES = frozenset({CaseStatus.CLOSED, CaseStatus.EVALUATED, CaseStatus.NOT_ACCEPTED, CaseStatus.MERGED})
# Statuses that count as "open" in inboxes, duplicates and the deadline sweep.
OPEN_STATUSES = frozenset(
    {
        CaseStatus.RECEIVED,
        CaseStatus.REGISTERED,
        CaseStatus.DISPATCHED,
        CaseStatus.HANDLING,
        CaseStatus.REPORTED,
        CaseStatus.TRANSFER_PENDING,
    }
)
# Statuses with a named owner (handler, department or tier unit) rather than a queue.
ASSIGNED_STATUSES = frozenset(
    {CaseStatus.DISPATCHED, CaseStatus.HANDLING, CaseStatus.REPORTED, CaseStatus.TRANSFER_PENDING}
)


class CaseAction(models.TextChoices):
    RECEIVE = "receive", _("受理")
    REGISTER = "register", _("立案")
    NOT_ACCEPT = "not_accept", _("不予受理")
    DISPATCH = "dispatch", _("派遣")
    ACKNOWLEDGE = "acknowledge", _("签收")
    REPORT_BACK = "report_back", _("处置反馈")
    VERIFY_PASS = "verify_pass", _("核查结案")
    VERIFY_FAIL = "verify_fail", _("核查不通过")
    RETURN_TO_DISPATCHER = "return_to_dispatcher", _("退单")
    TRANSFER = "transfer", _("转办")
    ACCEPT_TRANSFER = "accept_transfer", _("接收转办")
    REFUSE_TRANSFER = "refuse_transfer", _("拒收转办")
    ESCALATE = "escalate", _("上报")
    MERGE = "merge", _("合并")
    ANSWER_DIRECTLY = "answer_directly", _("直接答复")
    EVALUATE = "evaluate", _("回访评价")
    REOPEN = "reopen", _("重新处置")
    REQUEST_EXTENSION = "request_extension", _("申请延期")
    # Events that are not status transitions (timeline only).
    MODERATE = "moderate", _("审核修改")
    DEADLINE_WARNING = "deadline_warning", _("临期预警")
    DEADLINE_OVERDUE = "deadline_overdue", _("超期")
    COMMENT = "comment", _("备注")
    PHOTO_HIDDEN = "photo_hidden", _("照片已隐藏")
    PHOTO_SHOWN = "photo_shown", _("照片已恢复公开")
    # Joint handling (联合处置): a co-handling department's part (timeline only; the part's own
    # status lives in CaseAssist and changes through workflow.ASSIST_TRANSITIONS).
    ASSIST_REQUEST = "assist_request", _("请求协办")
    ASSIST_ACKNOWLEDGE = "assist_acknowledge", _("协办签收")
    ASSIST_REPORT = "assist_report", _("协办反馈")
    ASSIST_DECLINE = "assist_decline", _("协办拒绝")
    ASSIST_CANCEL = "assist_cancel", _("撤回协办")
    # The deadline sweep on a part (timeline only; the part's status is unchanged).
    ASSIST_DEADLINE_WARNING = "assist_deadline_warning", _("协办临期预警")
    ASSIST_DEADLINE_OVERDUE = "assist_deadline_overdue", _("协办超期")


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("960116热线")
    PATROL = "patrol", _("巡查上报")
    CAMERA = "camera", _("视频探头")
    RESIDENT_WEB = "resident_web", _("居民网上反映")
    WALK_IN = "walk_in", _("来访")
    OPEN311 = "open311", _("Open311")
    API = "api", _("接口")


class Priority(models.TextChoices):
    URGENT = "urgent", _("特急")
    HIGH = "high", _("紧急")
    NORMAL = "normal", _("一般")
    LOW = "low", _("较缓")


class Outcome(models.TextChoices):
    FIXED = "fixed", _("已解决")
    CLOSED_NOT_FIXED = "closed_not_fixed", _("结案未解决")
    ANSWERED_DIRECTLY = "answered_directly", _("直接答复")
    NOT_ACCEPTED = "not_accepted", _("不予受理")
    DUPLICATE = "duplicate", _("重复案件")


class NotAcceptedReason(models.TextChoices):
    NOT_A_CASE = "not_a_case", _("不属于案件")
    OUTSIDE_JURISDICTION = "outside_jurisdiction", _("不属于本辖区")


class Tier(models.TextChoices):
    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DISTRICT = "district", _("区")


TIER_ORDER: tuple[str, ...] = (Tier.GRID, Tier.COMMUNITY, Tier.STREET, Tier.DISTRICT)
# Length of the area code of each tier's territory node (see territory.enums).
TIER_CODE_LENGTH: dict[str, int] = {Tier.DISTRICT: 6, Tier.STREET: 9, Tier.COMMUNITY: 12}


class DeadlineKind(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", _("签收时限")
    HANDLE = "handle", _("处置时限")
    CLOSE = "close", _("结案时限")


class TargetKind(models.TextChoices):
    """What a routing rule (or a manual dispatch) sends a case to."""

    GRID_CHIEF = "grid_chief", _("网格长")
    DEPARTMENT = "department", _("指定部门")
    DEPARTMENT_KIND = "department_kind", _("部门类型(就近)")
    TIER = "tier", _("层级单位")
    MANUAL = "manual", _("指挥中心人工派遣")


class AssistStatus(models.TextChoices):
    """The status of one co-handling department's part of a case (协办)."""

    REQUESTED = "requested", _("待签收")
    ACKNOWLEDGED = "acknowledged", _("协办中")
    DONE = "done", _("已反馈")
    DECLINED = "declined", _("已拒绝")
    CANCELLED = "cancelled", _("已撤回")


# Parts still waiting for the co-handler (they hold up the lead's report back).
OPEN_ASSIST_STATUSES = frozenset({AssistStatus.REQUESTED, AssistStatus.ACKNOWLEDGED})


class AssistAction(models.TextChoices):
    """What can be done to a part (the keys of workflow.ASSIST_TRANSITIONS, plus request)."""

    REQUEST = "request", _("请求协办")
    ACKNOWLEDGE = "acknowledge", _("签收协办")
    REPORT = "report", _("反馈协办结果")
    DECLINE = "decline", _("拒绝协办")
    CANCEL = "cancel", _("撤回协办")
