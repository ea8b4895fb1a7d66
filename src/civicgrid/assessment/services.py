"""Writes of assessment schemes: create and update, validated and audited in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.services import ensure_can_write
from civicgrid.assessment.models import WEIGHT_FIELDS, WEIGHT_TOTAL, AssessmentScheme, weights_sum_message
from civicgrid.assessment.permissions import require_manage_schemes
from civicgrid.audit.diff import model_diff, snapshot
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.common.errors import NotFound

EDITABLE_FIELDS = ("name", *(f for f, *_rest in WEIGHT_FIELDS), "is_active", "effective_from", "note")


def _apply(scheme: AssessmentScheme, data: dict[str, Any]) -> None:
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({key: _("不能修改此字段") for key in unknown})
    errors: dict[str, str] = {}
    for field, value in data.items():
        if field.startswith("weight_"):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= WEIGHT_TOTAL:
                errors[field] = _("权重必须是0到100之间的整数")
                continue
        elif field == "effective_from" and not isinstance(value, dt.date):
            errors[field] = _("生效日期格式不正确")
            continue
        elif field == "is_active" and not isinstance(value, bool):
            errors[field] = _("启用必须是是或否")
            continue
        elif field in ("name", "note"):
            value = str(value or "").strip()
            if field == "name" and not value:
                errors[field] = _("请填写方案名称")
                continue
        setattr(scheme, field, value)
    if errors:
        raise ValidationError(errors)
    total = scheme.weight_total()
    if total != WEIGHT_TOTAL:
        raise ValidationError({"weights": weights_sum_message(total)})
    scheme.full_clean()


@transaction.atomic
def assessment_scheme_create(*, actor: Any, data: dict[str, Any]) -> AssessmentScheme:
    """A new scheme from ``data`` (name, the five weights, is_active, effective_from, note)."""
    ensure_can_write(actor)
    require_manage_schemes(actor)
    missing = [f for f in ("name", "effective_from") if f not in data]
    if missing:
        raise ValidationError({f: _("必填") for f in missing})
    scheme = AssessmentScheme()
    _apply(scheme, data)
    scheme.save()
    audit_record(action=AuditAction.CREATE, obj=scheme, changes=model_diff(None, scheme), actor=actor)
    return scheme


@transaction.atomic
def assessment_scheme_update(*, actor: Any, scheme_id: int, data: dict[str, Any]) -> AssessmentScheme:
    """Change some fields of a scheme; the weights must still sum to 100."""
    ensure_can_write(actor)
    require_manage_schemes(actor)
    scheme = AssessmentScheme.objects.select_for_update().filter(pk=scheme_id).first()
    if scheme is None:
        raise NotFound(_("考核方案不存在"))
    before = snapshot(scheme)
    _apply(scheme, data)
    changes = model_diff(before, scheme)
    if changes:
        scheme.save()
        audit_record(action=AuditAction.UPDATE, obj=scheme, changes=changes, actor=actor)
    return scheme
