"""Drive a case to any status, and take any action with a suitable actor and payload."""

from __future__ import annotations

from typing import Any

from civicgrid.cases import services
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case
from civicgrid.cases.tests.conftest import World


def act(w: World, case: Case, action: str, actor: Any = None, **extra: Any) -> Case:
    """Take ``action`` with the natural actor and a valid payload."""
    default_actor, payload = action_args(w, case, action)
    payload.update(extra)
    return services.case_transition(
        actor=actor or default_actor, case=case, action=action, expected_version=case.version, **payload
    )


def action_args(w: World, case: Case, action: str) -> tuple[Any, dict[str, Any]]:
    handler = case.current_handler or w.chief
    if case.current_handler is None and case.current_department_id == w.police.pk:
        handler = w.officer
    if case.current_handler is None and case.current_unit_id == w.d.communities[0].pk:
        handler = w.worker
    if case.current_handler is None and case.current_unit_id == w.d.streets[0].pk:
        handler = w.street_admin
    table: dict[str, tuple[Any, dict[str, Any]]] = {
        A.REGISTER: (w.operator, {}),
        A.NOT_ACCEPT: (w.operator, {"note": "咨询类, 不属于案件", "reason_code": "not_a_case"}),
        A.ANSWER_DIRECTLY: (w.operator, {"note": "已电话答复政策"}),
        A.MERGE: (w.operator, {"duplicate_of": None}),
        A.DISPATCH: (w.operator, {"handler": w.chief.pk}),
        A.ACKNOWLEDGE: (handler, {}),
        A.RETURN_TO_DISPATCHER: (handler, {"note": "不属于本网格"}),
        A.TRANSFER: (handler, {"department": w.police.pk, "note": "涉及治安"}),
        A.ESCALATE: (handler, {"note": "网格无法解决"}),
        A.REPORT_BACK: (handler, {"note": "已更换灯泡"}),
        A.REQUEST_EXTENSION: (handler, {"hours": 24, "note": "等待配件"}),
        A.VERIFY_PASS: (w.operator, {"outcome": "fixed"}),
        A.VERIFY_FAIL: (w.operator, {"note": "现场核查仍未修复"}),
        A.ACCEPT_TRANSFER: (w.officer, {}),
        A.REFUSE_TRANSFER: (w.officer, {"note": "不属于公安职责"}),
        A.EVALUATE: (w.operator, {"satisfaction": 5, "resolved": True}),
        A.REOPEN: (w.operator, {"note": "居民反映仍未解决"}),
    }
    actor, payload = table[action]
    payload = dict(payload)
    if action == A.MERGE:
        payload["duplicate_of"] = w.intake(register=False, title="另一条路灯不亮").pk
    return actor, payload


# A path of actions from a fresh (received) case to each status.
PATHS: dict[str, list[str]] = {
    S.RECEIVED: [],
    S.REGISTERED: [A.REGISTER, A.RETURN_TO_DISPATCHER],
    S.DISPATCHED: [A.REGISTER],
    S.HANDLING: [A.REGISTER, A.ACKNOWLEDGE],
    S.REPORTED: [A.REGISTER, A.ACKNOWLEDGE, A.REPORT_BACK],
    S.CLOSED: [A.REGISTER, A.ACKNOWLEDGE, A.REPORT_BACK, A.VERIFY_PASS],
    S.EVALUATED: [A.REGISTER, A.ACKNOWLEDGE, A.REPORT_BACK, A.VERIFY_PASS, A.EVALUATE],
    S.TRANSFER_PENDING: [A.REGISTER, A.ACKNOWLEDGE, A.TRANSFER],
    S.NOT_ACCEPTED: [A.NOT_ACCEPT],
    S.MERGED: [A.MERGE],
}


def bring_to(w: World, status: str) -> Case:
    """A case in grid 0 (whose chief is ``w.chief``) driven to ``status``."""
    case = w.intake(register=False)
    for action in PATHS[status]:
        case = act(w, case, action)
    assert case.status == status, (case.status, status)
    return case
