"""Admin: patrol policies are edited here (audited, scoped); patrols are read-only, with the
review of flagged tracks as actions (through the review services, so audited the same way)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy

from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.accounts.scope import ScopedAdminMixin, code_within, user_scope_code
from civicgrid.audit.admin_mixins import AuditedAdminMixin
from civicgrid.common.errors import DomainError
from civicgrid.patrols import services
from civicgrid.patrols.enums import ReviewStatus
from civicgrid.patrols.models import Patrol, PatrolPolicy
from civicgrid.patrols.policy import parse_windows
from civicgrid.territory.models import Area


class PatrolPolicyForm(forms.ModelForm):  # type: ignore[type-arg]
    """The node must exist (and lie in the editor's scope); windows must parse; the threshold is
    a share between 0 and 1; at least one patrol a day."""

    class Meta:
        model = PatrolPolicy
        fields = ("area_code", "times_per_day", "windows", "coverage_threshold")
        help_texts = {
            "windows": gettext_lazy(
                '例如 [{"end": "10:00"}, {"start": "15:00"}]: 10:00前一次, 15:00后一次; 留空表示不限时间'
            ),
            "coverage_threshold": gettext_lazy("0 到 1 之间, 例如 0.8 表示轨迹须覆盖责任区域的 80%"),
        }

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_area_code(self) -> str:
        code = str(self.cleaned_data["area_code"]).strip()
        if not Area.objects.filter(code=code).exists():
            raise ValidationError(gettext("辖区节点不存在: %(c)s") % {"c": code})
        scope = user_scope_code(self.user) if self.user is not None else ""
        if scope is None or not code_within(code, scope):
            raise ValidationError(gettext("该辖区不在您的辖区范围内"))
        return code

    def clean_times_per_day(self) -> int:
        value = int(self.cleaned_data["times_per_day"])
        if not 1 <= value <= 24:
            raise ValidationError(gettext("每日巡查次数应在 1 到 24 之间"))
        return value

    def clean_coverage_threshold(self) -> float:
        value = float(self.cleaned_data["coverage_threshold"])
        if not 0 <= value <= 1:
            raise ValidationError(gettext("覆盖率达标线应在 0 到 1 之间"))
        return value

    def clean_windows(self) -> Any:
        raw = self.cleaned_data.get("windows") or []
        windows = parse_windows(raw)
        for w in windows:
            if w.start is not None and w.end is not None and w.start >= w.end:
                raise ValidationError(gettext("时间段的开始时间应早于结束时间"))
        return [
            {"start": f"{w.start:%H:%M}" if w.start else "", "end": f"{w.end:%H:%M}" if w.end else ""} for w in windows
        ]


@admin.register(PatrolPolicy)
class PatrolPolicyAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    form = PatrolPolicyForm
    list_display = ("area_code", "area_name", "times_per_day", "windows", "coverage_threshold", "updated_at")
    search_fields = ("area_code",)
    list_per_page = 100

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)
        user = request.user

        class Form(base):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, user=user, **kw)

        return Form

    @admin.display(description=gettext_lazy("辖区"))
    def area_name(self, obj: PatrolPolicy) -> str:
        return str(Area.objects.filter(code=obj.area_code).values_list("name", flat=True).first() or "")


class ReviewFilter(admin.SimpleListFilter):
    title = gettext_lazy("核查状态")
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(s.value or "none", str(s.label)) for s in ReviewStatus]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Patrol]) -> QuerySet[Patrol]:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(review_status="" if value == "none" else value)


@admin.register(Patrol)
class PatrolAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: patrols change through the phone API and the review services."""

    list_display = (
        "id",
        "worker",
        "duty",
        "day",
        "started_at",
        "status",
        "distance_m",
        "coverage",
        "counts_toward_duty",
        "flagged",
        "review_status",
    )
    list_filter = ("status", "duty", "flagged", ReviewFilter, "day")
    search_fields = ("worker__username", "worker__display_name", "area_code")
    list_select_related = ("worker",)
    exclude = ("simplified_track", "client_id")
    actions = ("approve_selected", "reject_selected")
    show_full_result_count = False
    list_per_page = 50

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Patrol._meta.concrete_fields if f.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_review_permission(self, request: HttpRequest) -> bool:
        # The review services check the same capability (and scope) for every patrol.
        return has_capability(request.user, Capability.REVIEW_PATROLS)

    def _review(self, request: HttpRequest, queryset: QuerySet[Patrol], approve: bool) -> None:
        done = failed = 0
        note = gettext("后台批量核查")
        for pk in queryset.filter(review_status=ReviewStatus.PENDING).values_list("pk", flat=True):
            try:
                if approve:
                    services.patrol_review_approve(actor=request.user, patrol=pk, note=note)
                else:
                    services.patrol_review_reject(actor=request.user, patrol=pk, note=note)
                done += 1
            except (DomainError, PermissionDenied):
                failed += 1
        self.message_user(
            request,
            gettext("已核查 %(n)d 条, 失败 %(f)d 条 (只处理待核查的轨迹)") % {"n": done, "f": failed},
            messages.SUCCESS if not failed else messages.WARNING,
        )

    @admin.action(description=gettext_lazy("核查通过所选轨迹"), permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Patrol]) -> None:
        self._review(request, queryset, True)

    @admin.action(description=gettext_lazy("核查不通过所选轨迹"), permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Patrol]) -> None:
        self._review(request, queryset, False)
