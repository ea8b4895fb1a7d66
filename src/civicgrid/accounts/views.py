from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.enums import Role
from civicgrid.accounts.permissions import Capability, capabilities, is_read_only
from civicgrid.people.enums import PersonTagKind
from civicgrid.people.selectors import tag_counts
from civicgrid.territory.selectors import scope_overview


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:home")

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        messages.success(self.request, gettext_lazy("密码已修改。"))
        return response


@dataclass(frozen=True)
class Link:
    url: str
    title: str
    hint: str
    key: str


def territory_chain(area: Any) -> list[Any]:
    """The user's node and its ancestors, top first (district > street > community > grid)."""
    chain: list[Any] = []
    node = area
    while node is not None and len(chain) < 8:
        chain.append(node)
        node = node.parent
    return list(reversed(chain))


def home_links(user: Any) -> list[Link]:
    caps = capabilities(user)
    links: list[Link] = []
    if Capability.CASES_VIEW in caps:
        links.append(Link(reverse("cases:inbox"), _("案件办理"), _("待签收、我的、超期、待核查、待回访"), "cases"))
    if Capability.CASES_HANDLE in caps or Capability.PATROL in caps:
        links.append(Link(reverse("mobile:tasks"), _("网格通"), _("手机上的任务、巡查与问题上报"), "mobile"))
    if Capability.CASES_VIEW in caps:
        links.append(Link(reverse("dashboards:home"), _("指挥大屏"), _("今日与全年的受理、办结与各项指标"), "screen"))
        links.append(
            Link(reverse("dashboards:rankings"), _("考核排名"), _("街道、社区、网格与部门的加权考核"), "rankings")
        )
    if Capability.VIEW_PATROLS in caps:
        links.append(
            Link(reverse("patrols:compliance_home"), _("巡查考核"), _("每日两巡完成情况与月度汇总"), "compliance")
        )
    if Capability.VIEW_INDICATORS in caps:
        links.append(
            Link(reverse("indicators:register"), _("区级指标"), _("就业、社保、家庭医生等目标与进度"), "indicators")
        )
    if Capability.VIEW_AUDIT in caps:
        links.append(Link(reverse("audit:events"), _("审计日志"), _("查询登录、修改、导出等全部操作记录"), "audit"))
    if Capability.VIEW_TERRITORY in caps:
        links.append(
            Link(reverse("territory:browser"), _("辖区网格"), _("查看本辖区的街道、社区、网格与小区"), "territory")
        )
    if Capability.VIEW_PEOPLE in caps:
        links.append(Link(reverse("people:search"), _("实有人口"), _("查询本辖区的实有人口信息"), "people"))
    if Capability.USE_ADMIN in caps or user.is_superuser:
        if Capability.MANAGE_ACCOUNTS in caps or user.is_superuser:
            links.append(
                Link(
                    reverse("admin:accounts_user_changelist"),
                    _("账号管理"),
                    _("创建账号、分配角色与辖区、重置密码"),
                    "users",
                )
            )
            links.append(
                Link(
                    reverse("admin:accounts_department_changelist"),
                    _("部门管理"),
                    _("职能部门与联动部门"),
                    "departments",
                )
            )
        links.append(Link(reverse("admin:index"), _("系统管理"), _("后台管理首页"), "admin"))
    links.append(Link(reverse("accounts:password_change"), _("修改密码"), _("定期修改密码, 保护账号安全"), "password"))
    return links


# The groups later modules serve (five-colour services), shown first on the home page.
HOME_GROUPS = (
    PersonTagKind.ELDERLY,
    PersonTagKind.EMPTY_NEST,
    PersonTagKind.DISABLED,
    PersonTagKind.MINOR,
    PersonTagKind.UNEMPLOYED,
    PersonTagKind.PARTY_MEMBER,
    PersonTagKind.LOW_INCOME,
)


def home_groups(user: Any) -> list[tuple[str, str, int]]:
    counts = tag_counts(user)
    return [(str(kind.value), str(kind.label), counts.get(str(kind.value), 0)) for kind in HOME_GROUPS]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    area = getattr(user, "area", None)
    caps = capabilities(user)
    context = {
        "overview": scope_overview(user) if Capability.VIEW_TERRITORY in caps else None,
        "groups": home_groups(user) if Capability.VIEW_PEOPLE in caps else [],
        "links": home_links(user),
        "chain": territory_chain(area) if area is not None else [],
        "read_only": is_read_only(user),
        "is_security_admin": getattr(user, "role", "") == Role.SECURITY_ADMIN,
        "departments": list(user.departments.all()) if hasattr(user, "departments") else [],
        "policy": {
            "min_length": settings.PASSWORD_MIN_LENGTH,
            "min_classes": settings.PASSWORD_MIN_CLASSES,
            "history": settings.PASSWORD_HISTORY_COUNT,
            "max_age_days": settings.PASSWORD_MAX_AGE_DAYS,
            "lockout_failures": settings.AXES_FAILURE_LIMIT,
            "idle_minutes": settings.SESSION_IDLE_TIMEOUT_SECONDS // 60,
        },
    }
    return render(request, "accounts/home.html", context)
