"""Admin: categories and the routing table are edited here (cases.admin); cases are
read-only here (they change only through the workflow)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from civicgrid.accounts.scope import ScopedAdminMixin
from civicgrid.audit.admin_mixins import AuditedAdminMixin, AuditedInlineMixin
from civicgrid.cases import apikeys, submissions, webhooks
from civicgrid.cases.enums import OPEN_ASSIST_STATUSES
from civicgrid.cases.models import (
    ApiKey,
    Case,
    CaseAssist,
    CaseEvent,
    Category,
    CategoryAttribute,
    IntakeSubmission,
    ResponseTemplate,
    RoutingRule,
    WebhookSource,
)
from civicgrid.cases.permissions import CaseCapability
from civicgrid.common import crypto


@admin.register(Category)
class CategoryAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("code", "name", "parent", "handling", "department", "priority", "is_public", "is_active")
    list_filter = ("is_active", "is_public", "handling", "priority")
    search_fields = ("code", "name")
    list_select_related = ("parent", "department")
    autocomplete_fields = ("department",)
    ordering = ("sort_order", "code")
    list_per_page = 100

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: cases keep their category

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[type[InlineModelAdmin]]:  # type: ignore[type-arg]
        return [CategoryAttributeInline]


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("id", "name", "order", "category", "area_prefix", "target", "department", "tier", "is_active")
    list_filter = ("is_active", "target", "tier")
    search_fields = ("name", "area_prefix")
    list_select_related = ("category", "department")
    autocomplete_fields = ("department",)
    list_per_page = 100


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("title", "category", "is_active")
    list_filter = ("is_active",)
    search_fields = ("title", "body")
    list_per_page = 100


class CaseEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("occurred_at", "action", "from_status", "to_status", "actor_label", "note")
    readonly_fields = fields
    ordering = ("occurred_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseAssistInline(AuditedInlineMixin, admin.TabularInline):  # type: ignore[type-arg]
    """The case's joint-handling parts (read-only; they change through ``cases.joint``)."""

    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    model = CaseAssist
    extra = 0
    can_delete = False
    fields = ("department", "status", "requested_at", "due_at", "overdue_at", "responded_at", "response")
    readonly_fields = fields
    ordering = ("requested_at", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseAssist]:
        return super().get_queryset(request).select_related("department")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: a case changes only through the workflow (pages and API)."""

    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("tracking_code", "title", "category", "status", "channel", "area_code", "received_at")
    list_filter = ("status", "channel", "priority")
    search_fields = ("tracking_code", "title")
    list_select_related = ("category", "category__parent")
    exclude = ("reporter_phone_cipher", "reporter_phone_digest", "deadline_marks", "idempotency_key")
    inlines = (CaseAssistInline, CaseEventInline)
    show_full_result_count = False
    list_per_page = 50

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Case._meta.concrete_fields if f.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- joint handling: the co-handling parts (协办任务) --------------------------------------------


class AssistOverdueFilter(admin.SimpleListFilter):
    """Overdue: marked by the deadline sweep, or still open past the deadline."""

    title = gettext_lazy("是否超期")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1", gettext("已超期")), ("0", gettext("未超期"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[CaseAssist]) -> QuerySet[CaseAssist]:
        overdue = Q(overdue_at__isnull=False) | Q(status__in=OPEN_ASSIST_STATUSES, due_at__lt=timezone.now())
        if self.value() == "1":
            return queryset.filter(overdue)
        if self.value() == "0":
            return queryset.exclude(overdue)
        return queryset


@admin.register(CaseAssist)
class CaseAssistAdmin(AuditedAdminMixin, ScopedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: a part is created, signed for, reported back, declined or cancelled only
    through ``cases.joint`` (the transition table ``workflow.ASSIST_TRANSITIONS``, with its
    permissions, optimistic lock, timeline, audit and notifications) on the case page or the
    API, by the lead or the co-handling department - not by the cases administrator, so there
    is no status action here and nothing to edit. Scoped by the part's ``area_code``."""

    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = (
        "tracking_code",
        "department",
        "status",
        "requested_at",
        "due_at",
        "overdue",
        "acknowledged_at",
        "responded_at",
    )
    list_filter = ("status", ("department", admin.RelatedOnlyFieldListFilter), AssistOverdueFilter)
    search_fields = ("case__tracking_code",)
    list_select_related = ("case", "department")
    fields = (
        "case",
        "department",
        "status",
        "version",
        "area_code",
        "note",
        "requested_by",
        "requested_at",
        "due_at",
        "warned_at",
        "overdue_at",
        "acknowledged_by",
        "acknowledged_at",
        "responded_by",
        "responded_at",
        "response",
        "cancelled_at",
        "cancel_reason",
        "updated_at",
    )
    readonly_fields = fields
    ordering = ("-requested_at", "-id")
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description=gettext_lazy("查询码"), ordering="case__tracking_code")
    def tracking_code(self, obj: CaseAssist) -> str:
        return obj.case.tracking_code

    @admin.display(description=gettext_lazy("超期"), boolean=True)
    def overdue(self, obj: CaseAssist) -> bool:
        return obj.is_overdue()

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # requested on the case page / API (joint.case_assist_request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # no free editing: status changes go through the assist transition table

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- machine intake: category attributes, API keys, alert webhook sources ----------------------


class CategoryAttributeInline(AuditedInlineMixin, admin.TabularInline):  # type: ignore[type-arg]
    """The Open311 service-definition questions of a category."""

    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    model = CategoryAttribute
    extra = 0
    fields = ("order", "code", "datatype", "required", "variable", "description", "datatype_description", "values")
    ordering = ("order", "id")


class ApiKeyActiveFilter(admin.SimpleListFilter):
    title = gettext_lazy("状态")
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1", gettext("有效")), ("0", gettext("已吊销"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() == "1":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "0":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: keys are issued with ``civicgrid apikey create`` (the plaintext is shown once
    there) and revoked here through ``apikeys.apikey_revoke``. The hash is never shown."""

    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("name", "prefix", "active", "rate_per_minute", "last_used_at", "created_at", "revoked_at")
    list_filter = (ApiKeyActiveFilter,)
    search_fields = ("name", "prefix")
    fields = ("name", "prefix", "rate_per_minute", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke_keys",)
    list_per_page = 100

    @admin.display(description=gettext_lazy("有效"), boolean=True)
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active

    @admin.action(description=gettext_lazy("吊销所选密钥"), permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for prefix in queryset.filter(revoked_at__isnull=True).values_list("prefix", flat=True):
            apikeys.apikey_revoke(prefix=prefix)
            revoked += 1
        self.message_user(request, gettext("已吊销 %(n)d 个密钥") % {"n": revoked}, messages.SUCCESS)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self._can_write(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # issued by the command, which shows the key once

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: intake records keep their key


class WebhookSourceForm(forms.ModelForm):  # type: ignore[type-arg]
    """The signing secret is write-only: an empty password field that, when filled, replaces
    the stored (encrypted) secret. Mapped category codes must be active categories."""

    new_secret = forms.CharField(
        label=gettext_lazy("签名密钥"),
        required=False,
        min_length=16,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("至少16个字符。已保存的密钥不会显示; 留空则保持不变。"),
    )

    class Meta:
        model = WebhookSource
        fields = ("name", "label", "is_active", "category_map", "default_category")

    def clean_category_map(self) -> dict[str, str]:
        value = self.cleaned_data.get("category_map") or {}
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in value.items()
        ):
            raise ValidationError(gettext('事件类别对照应为 {"事件类型": "类别编码"} 形式'))
        unknown = sorted(set(value.values()) - _active_category_codes(value.values()))
        if unknown:
            raise ValidationError(gettext("类别编码不存在或已停用: %(codes)s") % {"codes": ", ".join(unknown)})
        return {k.strip(): v.strip() for k, v in value.items()}

    def clean_default_category(self) -> str:
        code = str(self.cleaned_data.get("default_category") or "").strip()
        if code and code not in _active_category_codes([code]):
            raise ValidationError(gettext("类别编码不存在或已停用: %(codes)s") % {"codes": code})
        return code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None and not cleaned.get("new_secret") and "new_secret" not in self.errors:
            self.add_error("new_secret", gettext("新建接入源必须设置签名密钥"))
        return cleaned


def _active_category_codes(codes: Any) -> set[str]:
    return set(Category.objects.filter(code__in=list(codes), is_active=True).values_list("code", flat=True))


@admin.register(WebhookSource)
class WebhookSourceAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    form = WebhookSourceForm
    list_display = ("name", "label", "is_active", "mapping", "default_category", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "label")
    fields = ("name", "label", "is_active", "category_map", "default_category", "new_secret")
    list_per_page = 100

    @admin.display(description=gettext_lazy("事件类别对照"))
    def mapping(self, obj: WebhookSource) -> str:
        return ", ".join(f"{k}→{v}" for k, v in sorted((obj.category_map or {}).items()))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        secret = form.cleaned_data.get("new_secret")
        if secret:
            obj.secret_cipher = crypto.encrypt(secret, context=webhooks.SECRET_CONTEXT)
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: deliveries keep their source


@admin.register(IntakeSubmission)
class IntakeSubmissionAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Accepted machine submissions and what became of them (read-only). A failed one shows
    its error; the retry action sends it back to the drainer (``submissions.submission_retry``,
    audited). The payload is not shown (it holds the reporter's protected phone)."""

    admin_view_capability = CaseCapability.ADMIN
    admin_edit_capability = CaseCapability.ADMIN
    list_display = ("token", "channel", "status", "case", "attempts", "created_at", "processed_at", "short_error")
    list_filter = ("status", "channel")
    search_fields = ("token",)
    list_select_related = ("case", "api_key")
    fields = (
        "token",
        "channel",
        "status",
        "case",
        "api_key",
        "client_ip",
        "attempts",
        "created_at",
        "available_at",
        "processed_at",
        "error",
    )
    readonly_fields = fields
    actions = ("retry_submissions",)
    list_per_page = 100

    @admin.display(description=gettext_lazy("错误"))
    def short_error(self, obj: IntakeSubmission) -> str:
        return obj.error[:80]

    @admin.action(description=gettext_lazy("重试所选的失败提交"), permissions=["retry"])
    def retry_submissions(self, request: HttpRequest, queryset: QuerySet[IntakeSubmission]) -> None:
        retried = 0
        for submission in queryset.filter(status="failed"):
            submissions.submission_retry(actor=request.user, submission=submission)
            retried += 1
        self.message_user(request, gettext("已重试 %(n)d 个提交") % {"n": retried}, messages.SUCCESS)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return self._can_write(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
