"""The case workflow: ONE transition table and who may take each action.

``TRANSITIONS[(from_status, action)] -> to_status`` is the only description of legal status
changes; ``civicgrid.cases.services.case_transition`` is the only code that applies them.
``ACTION_RULES[action]`` says who may take an action:

- ``intake``   : capability cases.intake within the case's territory (受理/立案 staff)
- ``dispatch`` : capability cases.dispatch within the case's territory (指挥中心, 街道)
- ``verify``   : capability cases.verify within the case's territory (核查, 回访)
- ``handler``  : capability cases.handle AND the case's current owner: the current handler,
                 a member of the current department, or staff bound to the current tier unit
- ``target_department``: capability cases.handle AND a member of the department the case
                 was transferred to
- ``resident`` : the resident holding the tracking code (public page)
- ``system``   : the platform itself (auto-routing, the deadline sweep)

Joint handling (联合处置) has a small table of its own beside the case table:
``ASSIST_TRANSITIONS[(part_status, action)] -> part_status`` for one co-handling department's
part (``models.CaseAssist``), applied only by ``civicgrid.cases.joint``, and
``ASSIST_RULES[action]`` says who may take each part action (``co_handler``: capability
cases.handle AND a member of the part's department; ``handler``/``dispatch`` as above: the
lead). A part never changes the case's status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from civicgrid.accounts.permissions import has_capability
from civicgrid.accounts.scope import code_within, user_scope_code
from civicgrid.cases.enums import TERMINAL_STATUSES
from civicgrid.cases.enums import AssistAction as AA
from civicgrid.cases.enums import AssistStatus as AS
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.permissions import CaseCapability
from civicgrid.common.text import join_list

if TYPE_CHECKING:
    from civicgrid.cases.models import Case, CaseAssist

TRANSITIONS: dict[tuple[str, str], str] = {
    # 受理 -> 立案 / 不予受理 / 直接答复 / 合并
    (S.RECEIVED, A.REGISTER): S.REGISTERED,
    (S.RECEIVED, A.NOT_ACCEPT): S.NOT_ACCEPTED,
    (S.RECEIVED, A.ANSWER_DIRECTLY): S.CLOSED,
    (S.RECEIVED, A.MERGE): S.MERGED,
    # 立案 (the manual-dispatch queue) -> 派遣
    (S.REGISTERED, A.DISPATCH): S.DISPATCHED,
    (S.REGISTERED, A.NOT_ACCEPT): S.NOT_ACCEPTED,
    (S.REGISTERED, A.MERGE): S.MERGED,
    # 派遣, waiting to be signed for
    (S.DISPATCHED, A.ACKNOWLEDGE): S.HANDLING,
    (S.DISPATCHED, A.DISPATCH): S.DISPATCHED,  # re-dispatch by the dispatcher
    (S.DISPATCHED, A.RETURN_TO_DISPATCHER): S.REGISTERED,
    (S.DISPATCHED, A.TRANSFER): S.TRANSFER_PENDING,
    (S.DISPATCHED, A.ESCALATE): S.DISPATCHED,
    (S.DISPATCHED, A.MERGE): S.MERGED,
    # 处置中
    (S.HANDLING, A.REPORT_BACK): S.REPORTED,
    (S.HANDLING, A.RETURN_TO_DISPATCHER): S.REGISTERED,
    (S.HANDLING, A.TRANSFER): S.TRANSFER_PENDING,
    (S.HANDLING, A.ESCALATE): S.DISPATCHED,
    (S.HANDLING, A.REQUEST_EXTENSION): S.HANDLING,
    # 已反馈 -> 核查
    (S.REPORTED, A.VERIFY_PASS): S.CLOSED,
    (S.REPORTED, A.VERIFY_FAIL): S.HANDLING,
    # 转办
    (S.TRANSFER_PENDING, A.ACCEPT_TRANSFER): S.HANDLING,
    (S.TRANSFER_PENDING, A.REFUSE_TRANSFER): S.REGISTERED,
    # 结案 -> 回访 / 重新处置
    (S.CLOSED, A.EVALUATE): S.EVALUATED,
    (S.CLOSED, A.REOPEN): S.DISPATCHED,
    (S.EVALUATED, A.REOPEN): S.DISPATCHED,
}

INTAKE = "intake"
DISPATCH = "dispatch"
VERIFY = "verify"
HANDLER = "handler"
TARGET_DEPARTMENT = "target_department"
RESIDENT = "resident"
SYSTEM = "system"

# Who may take each action (any one of the listed rules suffices).
ACTION_RULES: dict[str, tuple[str, ...]] = {
    A.REGISTER: (INTAKE, SYSTEM),
    A.NOT_ACCEPT: (INTAKE, DISPATCH),
    A.ANSWER_DIRECTLY: (INTAKE,),
    A.MERGE: (DISPATCH, VERIFY),
    A.DISPATCH: (DISPATCH, SYSTEM),
    A.ACKNOWLEDGE: (HANDLER,),
    A.RETURN_TO_DISPATCHER: (HANDLER,),
    A.TRANSFER: (HANDLER, DISPATCH),
    A.ESCALATE: (HANDLER, SYSTEM),
    A.REPORT_BACK: (HANDLER,),
    A.REQUEST_EXTENSION: (HANDLER,),
    A.VERIFY_PASS: (VERIFY,),
    A.VERIFY_FAIL: (VERIFY,),
    A.ACCEPT_TRANSFER: (TARGET_DEPARTMENT,),
    A.REFUSE_TRANSFER: (TARGET_DEPARTMENT,),
    A.EVALUATE: (VERIFY, RESIDENT),
    A.REOPEN: (VERIFY, RESIDENT),
}

_RULE_CAPABILITY = {
    INTAKE: CaseCapability.INTAKE,
    DISPATCH: CaseCapability.DISPATCH,
    VERIFY: CaseCapability.VERIFY,
    HANDLER: CaseCapability.HANDLE,
    TARGET_DEPARTMENT: CaseCapability.HANDLE,
}

# Actions that need a reason (note) from the actor.
REASON_REQUIRED = frozenset({A.RETURN_TO_DISPATCHER, A.REFUSE_TRANSFER, A.VERIFY_FAIL, A.NOT_ACCEPT, A.REOPEN})


@dataclass(frozen=True)
class SystemActor:
    """The platform itself (auto-routing, the deadline sweep)."""

    label: str = "system"
    is_authenticated: bool = False
    is_active: bool = True
    pk: None = None


@dataclass(frozen=True)
class ResidentActor:
    """A member of the public acting on the case whose tracking code they hold."""

    tracking_code: str
    label: str = "resident"
    is_authenticated: bool = False
    is_active: bool = True
    pk: None = None


SYSTEM_ACTOR = SystemActor()


def allowed_actions_from(status: str) -> list[str]:
    """Every action the table allows from ``status`` (whoever may take it)."""
    return [action for (frm, action) in TRANSITIONS if frm == status]


def target_status(status: str, action: str) -> str | None:
    return TRANSITIONS.get((status, action))


def action_label(action: str) -> str:
    try:
        return str(A(action).label)
    except ValueError:
        return action


def status_label(status: str) -> str:
    try:
        return str(S(status).label)
    except ValueError:
        return status


def illegal_transition_message(status: str, action: str) -> str:
    allowed = join_list(action_label(a) for a in allowed_actions_from(status)) or _("无")
    return _("案件当前状态为“%(status)s”, 不能执行“%(action)s”。当前可执行的操作: %(allowed)s") % {
        "status": status_label(status),
        "action": action_label(action),
        "allowed": allowed,
    }


def _user_department_ids(user: Any) -> set[int]:
    cached = getattr(user, "_case_department_ids", None)
    if cached is None:
        cached = set(user.departments.values_list("pk", flat=True))
        user._case_department_ids = cached
    return set(cached)


def is_current_owner(user: Any, case: Case) -> bool:
    """Is ``user`` the case's current owner (handler, department member, tier-unit staff)?"""
    if case.current_handler_id:
        return bool(case.current_handler_id == user.pk)
    if case.current_department_id:
        return case.current_department_id in _user_department_ids(user)
    if case.current_unit_id:
        return bool(user.area_id == case.current_unit_id)
    return False


def rule_allows(rule: str, actor: Any, case: Case) -> bool:
    if rule == SYSTEM:
        return isinstance(actor, SystemActor)
    if rule == RESIDENT:
        return isinstance(actor, ResidentActor) and actor.tracking_code == case.tracking_code
    if isinstance(actor, SystemActor | ResidentActor) or actor is None:
        return False
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if not has_capability(actor, _RULE_CAPABILITY[rule]):
        return False
    if rule in (INTAKE, DISPATCH, VERIFY):
        scope = user_scope_code(actor)
        return scope is not None and code_within(case.area_code, scope)
    if rule == HANDLER:
        return is_current_owner(actor, case)
    if rule == TARGET_DEPARTMENT:
        return bool(case.current_department_id) and case.current_department_id in _user_department_ids(actor)
    return False


def may_take(actor: Any, case: Case, action: str) -> bool:
    """May ``actor`` take ``action`` on ``case`` now (legal in the table AND permitted)?"""
    if target_status(case.status, action) is None:
        return False
    return any(rule_allows(rule, actor, case) for rule in ACTION_RULES.get(action, ()))


def available_actions(actor: Any, case: Case, actions: Iterable[str] | None = None) -> list[str]:
    """The actions ``actor`` may take on ``case`` now, in table order (for pages: the buttons)."""
    candidates = allowed_actions_from(case.status) if actions is None else list(actions)
    return [a for a in candidates if may_take(actor, case, a)]


# --- joint handling (联合处置): one co-handling department's part --------------------------------

ASSIST_TRANSITIONS: dict[tuple[str, str], str] = {
    # 待签收 -> 签收 / 拒绝 / 撤回 (by the lead)
    (AS.REQUESTED, AA.ACKNOWLEDGE): AS.ACKNOWLEDGED,
    (AS.REQUESTED, AA.DECLINE): AS.DECLINED,
    (AS.REQUESTED, AA.CANCEL): AS.CANCELLED,
    # 协办中 -> 反馈 / 拒绝 / 撤回 (by the lead)
    (AS.ACKNOWLEDGED, AA.REPORT): AS.DONE,
    (AS.ACKNOWLEDGED, AA.DECLINE): AS.DECLINED,
    (AS.ACKNOWLEDGED, AA.CANCEL): AS.CANCELLED,
}

CO_HANDLER = "co_handler"

# Who may take each part action (any one of the listed rules suffices). ``request`` creates
# parts; the lead is the case's current owner (``handler``) or a dispatcher of its territory.
ASSIST_RULES: dict[str, tuple[str, ...]] = {
    AA.REQUEST: (HANDLER, DISPATCH),
    AA.ACKNOWLEDGE: (CO_HANDLER,),
    AA.REPORT: (CO_HANDLER,),
    AA.DECLINE: (CO_HANDLER,),
    AA.CANCEL: (HANDLER, DISPATCH),
}

# Case statuses in which the lead may ask for co-handlers (the case is being worked).
ASSIST_REQUEST_CASE_STATUSES = frozenset({S.DISPATCHED, S.HANDLING})
# Part actions that need a text (the report, or the reason for declining / cancelling).
ASSIST_TEXT_REQUIRED = frozenset({AA.REPORT, AA.DECLINE, AA.CANCEL})
# The timeline event of each part action.
ASSIST_EVENT: dict[str, str] = {
    AA.REQUEST: A.ASSIST_REQUEST,
    AA.ACKNOWLEDGE: A.ASSIST_ACKNOWLEDGE,
    AA.REPORT: A.ASSIST_REPORT,
    AA.DECLINE: A.ASSIST_DECLINE,
    AA.CANCEL: A.ASSIST_CANCEL,
}
# Button order on the case page.
ASSIST_ACTION_ORDER: tuple[str, ...] = (AA.ACKNOWLEDGE, AA.REPORT, AA.DECLINE, AA.CANCEL)


def assist_target_status(status: str, action: str) -> str | None:
    return ASSIST_TRANSITIONS.get((status, action))


def assist_action_label(action: str) -> str:
    try:
        return str(AA(action).label)
    except ValueError:
        return action


def assist_status_label(status: str) -> str:
    try:
        return str(AS(status).label)
    except ValueError:
        return status


def illegal_assist_message(status: str, action: str) -> str:
    allowed = [a for (frm, a) in ASSIST_TRANSITIONS if frm == status]
    text = join_list(assist_action_label(a) for a in allowed) or _("无")
    return _("协办任务当前状态为“%(status)s”, 不能执行“%(action)s”。当前可执行的操作: %(allowed)s") % {
        "status": assist_status_label(status),
        "action": assist_action_label(action),
        "allowed": text,
    }


def is_co_handler(user: Any, assist: CaseAssist) -> bool:
    """Is ``user`` a member of the part's department (whatever their capabilities)?"""
    if isinstance(user, SystemActor | ResidentActor) or user is None:
        return False
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return assist.department_id in _user_department_ids(user)


def assist_rule_allows(rule: str, actor: Any, case: Case, assist: CaseAssist | None) -> bool:
    if rule == CO_HANDLER:
        return assist is not None and is_co_handler(actor, assist) and has_capability(actor, CaseCapability.HANDLE)
    return rule_allows(rule, actor, case)


def is_assist_lead(actor: Any, case: Case) -> bool:
    """The lead of the joint handling: the case's current owner, or a dispatcher of its territory."""
    return any(rule_allows(rule, actor, case) for rule in ASSIST_RULES[AA.REQUEST])


def may_request_assist(actor: Any, case: Case) -> bool:
    return case.status in ASSIST_REQUEST_CASE_STATUSES and is_assist_lead(actor, case)


def may_take_assist(actor: Any, case: Case, assist: CaseAssist, action: str) -> bool:
    """May ``actor`` take ``action`` on the part now (legal in the table, the case still open,
    AND permitted)?"""
    if assist_target_status(assist.status, action) is None or case.status in TERMINAL_STATUSES:
        return False
    return any(assist_rule_allows(rule, actor, case, assist) for rule in ASSIST_RULES.get(action, ()))


def available_assist_actions(actor: Any, case: Case, assist: CaseAssist) -> list[str]:
    """The part actions ``actor`` may take now (for pages: the buttons)."""
    return [a for a in ASSIST_ACTION_ORDER if may_take_assist(actor, case, assist, a)]
