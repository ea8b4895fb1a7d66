from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMAND_OPERATOR = "command_operator", _("指挥中心坐席")
    STREET_ADMIN = "street_admin", _("街道管理员")
    COMMUNITY_WORKER = "community_worker", _("社区工作者")
    GRID_CHIEF = "grid_chief", _("网格长")
    ROAD_CHIEF = "road_chief", _("路长")
    AREA_CHIEF = "area_chief", _("片长")
    DEPARTMENT_HANDLER = "department_handler", _("部门处置人员")
    PARTY_SECRETARY = "party_secretary", _("党组织书记")
    LEADER = "leader", _("领导(只读)")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")


class DepartmentKind(models.TextChoices):
    POLICE = "police", _("派出所")
    JUDICIAL = "judicial", _("司法所")
    FIRE = "fire", _("消防")
    LEGAL = "legal", _("法务室")
    GOVERNANCE = "governance", _("综治办")
    UTILITY = "utility", _("公用事业")
    CITY_MANAGEMENT = "city_management", _("城市管理")
    CIVIL_AFFAIRS = "civil_affairs", _("民政")
    HUMAN_RESOURCES = "human_resources", _("人社")
    HEALTH = "health", _("卫健")
    OTHER = "other", _("其他")
