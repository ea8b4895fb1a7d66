"""Departments and staff accounts of the demo district, as plain data.

Counts follow the report: 218 grid chiefs (each owns a run of neighbouring grids in one
community and is bound to it, or to the community when it owns several), 139 road chiefs (each owns road segments of
one street and is bound to the street), of which 26 in 小召, and 36 area chiefs (片长) in
小召 (each owns a patch of grids and is bound to its community). One account per role is a
printed demo account with a known password; every other account has an unusable
password until an administrator activates it."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from civicgrid.accounts.enums import DepartmentKind, Role
from civicgrid.demo import data, names
from civicgrid.demo.plan import TerritoryPlan, allocate, road_chiefs_per_street


@dataclass
class DepartmentSpec:
    code: str
    name: str
    kind: str
    area_code: str
    phone: str


@dataclass
class UserSpec:
    username: str
    display_name: str
    role: str
    area_code: str
    mobile: str
    departments: list[str] = field(default_factory=list)
    demo_label: str = ""  # set for the printed demo accounts
    owns: list[str] = field(default_factory=list)  # grid or road-segment codes

    @property
    def is_printed_demo(self) -> bool:
        return bool(self.demo_label)


@dataclass
class StaffPlan:
    departments: list[DepartmentSpec]
    users: list[UserSpec]

    def demo_accounts(self) -> list[UserSpec]:
        order = {role: i for i, role in enumerate(Role.values)}
        return sorted((u for u in self.users if u.is_printed_demo), key=lambda u: order[u.role])


def _chunks(items: list[str], parts: int) -> list[list[str]]:
    n = len(items)
    return [items[i * n // parts : (i + 1) * n // parts] for i in range(parts)]


def plan_departments(plan: TerritoryPlan, seed: int) -> list[DepartmentSpec]:
    rng = random.Random(f"civicgrid-demo:{seed}:departments")
    district = plan.district.code
    out = [
        DepartmentSpec(f"{district}-fire", "玉泉区消防救援大队", DepartmentKind.FIRE, district, "0471-5960119"),
        DepartmentSpec(
            f"{district}-governance", "玉泉区社会治安综合治理中心", DepartmentKind.GOVERNANCE, district, "0471-960116"
        ),
        DepartmentSpec(f"{district}-city", "玉泉区城市管理综合执法局", DepartmentKind.CITY_MANAGEMENT, district, ""),
        DepartmentSpec(f"{district}-civil", "玉泉区民政局", DepartmentKind.CIVIL_AFFAIRS, district, ""),
        DepartmentSpec(f"{district}-hr", "玉泉区人力资源和社会保障局", DepartmentKind.HUMAN_RESOURCES, district, ""),
        DepartmentSpec(f"{district}-health", "玉泉区卫生健康委员会", DepartmentKind.HEALTH, district, ""),
        DepartmentSpec(f"{district}-water", "呼和浩特春华水务玉泉营业所", DepartmentKind.UTILITY, district, ""),
        DepartmentSpec(f"{district}-heat", "呼和浩特城发供热玉泉分公司", DepartmentKind.UTILITY, district, ""),
    ]
    for street in plan.streets:
        short = street.name.removesuffix("街道")
        out += [
            DepartmentSpec(f"{street.code}-police", f"{short}派出所", DepartmentKind.POLICE, street.code, ""),
            DepartmentSpec(f"{street.code}-judicial", f"{short}司法所", DepartmentKind.JUDICIAL, street.code, ""),
            DepartmentSpec(
                f"{street.code}-governance", f"{street.name}综治办", DepartmentKind.GOVERNANCE, street.code, ""
            ),
        ]
    q = plan.qingquan
    out.append(DepartmentSpec(f"{q.code}-legal", "清泉街社区法务室", DepartmentKind.LEGAL, q.code, ""))
    for dept in out:
        if not dept.phone:
            dept.phone = f"0471-{rng.choice((3, 4, 5, 6))}{rng.randrange(10**6):06d}"
    return out


def plan_staff(plan: TerritoryPlan, seed: int) -> StaffPlan:
    rng = random.Random(f"civicgrid-demo:{seed}:staff")
    departments = plan_departments(plan, seed)
    users: list[UserSpec] = []

    def add(
        username: str,
        role: str,
        area_code: str,
        *,
        departments: list[str] | None = None,
        demo_label: str = "",
        owns: list[str] | None = None,
    ) -> UserSpec:
        male = rng.random() < 0.55
        ethnicity = "蒙古族" if rng.random() < 0.12 else "汉族"
        spec = UserSpec(
            username=username,
            display_name=names.full_name(rng, male, ethnicity=ethnicity),
            role=role,
            area_code=area_code,
            mobile=names.mobile(rng),
            departments=departments or [],
            demo_label=demo_label,
            owns=owns or [],
        )
        users.append(spec)
        return spec

    district = plan.district.code
    q = plan.qingquan
    xiaozhao = plan.streets[data.XIAOZHAO_STREET_INDEX]

    # Grid chiefs: 218 over the communities in proportion to their grids.
    per_community = allocate(data.GRID_CHIEFS, [len(plan.grids_of(c.code)) for c in plan.communities], minimum=1)
    for community, n in zip(plan.communities, per_community, strict=True):
        grid_codes = [g.code for g in plan.grids_of(community.code)]
        for chunk in _chunks(grid_codes, n):
            # Scope is one node: a chief of one grid is bound to it, a chief of several
            # to their community; the grids they own are Responsibility rows.
            bound = chunk[0] if len(chunk) == 1 else community.code
            add(f"wgz{chunk[0]}", Role.GRID_CHIEF, bound, owns=chunk)

    # Road chiefs: 139, 26 of them in 小召.
    roads_by_street: dict[str, list[str]] = defaultdict(list)
    for road in plan.roads:
        roads_by_street[road.street_code].append(road.code)
    for street, n in zip(plan.streets, road_chiefs_per_street(), strict=True):
        for k, chunk in enumerate(_chunks(roads_by_street[street.code], n), start=1):
            add(f"lz{street.code}{k:02d}", Role.ROAD_CHIEF, street.code, owns=chunk)

    # Area chiefs: 36 in 小召, each with a patch of grids in one community.
    xz_communities = plan.communities_of(xiaozhao.code)
    per_xz = allocate(data.XIAOZHAO_AREA_CHIEFS, [len(plan.grids_of(c.code)) for c in xz_communities], minimum=1)
    for community, n in zip(xz_communities, per_xz, strict=True):
        grid_codes = [g.code for g in plan.grids_of(community.code)]
        for k, chunk in enumerate(_chunks(grid_codes, n), start=1):
            add(f"pz{community.code}{k}", Role.AREA_CHIEF, community.code, owns=chunk)

    # Street, community and district staff, and one handler per department.
    for street in plan.streets:
        add(f"jd{street.code}", Role.STREET_ADMIN, street.code)
    for community in plan.communities:
        add(f"sq{community.code}", Role.COMMUNITY_WORKER, community.code)
        add(f"dw{community.code}", Role.PARTY_SECRETARY, community.code)
    for k in range(1, 4):
        add(f"zx{k:02d}", Role.COMMAND_OPERATOR, district)
    for k in range(1, 3):
        add(f"ld{k:02d}", Role.LEADER, district)
    for dept in departments:
        add(f"bm{dept.code.replace('-', '')}", Role.DEPARTMENT_HANDLER, dept.area_code, departments=[dept.code])

    # The printed demo accounts: one per role.
    by_name = {u.username: u for u in users}

    def promote(username: str, demo_username: str, label: str) -> None:
        spec = by_name[username]
        spec.username = demo_username
        spec.demo_label = label

    qingquan_street = str(q.parent_code)
    first_grid_chief = next(u for u in users if u.role == Role.GRID_CHIEF and u.area_code.startswith(q.code))
    promote("zx01", "demo_command", "区指挥中心坐席")
    promote(f"jd{qingquan_street}", "demo_street", "兴隆巷街道管理员")
    promote(f"sq{q.code}", "demo_community", "清泉街社区工作者")
    promote(first_grid_chief.username, "demo_grid", f"清泉街社区{first_grid_chief.owns[0][-2:]}号网格网格长")
    promote(f"lz{qingquan_street}01", "demo_road", "兴隆巷街道路长")
    promote(f"pz{xz_communities[0].code}1", "demo_area", f"小召街道{xz_communities[0].name}片长")
    promote(f"bm{qingquan_street}police", "demo_police", "兴隆巷派出所民警(清泉街联动)")
    promote(f"dw{q.code}", "demo_party", "清泉街社区党委书记")
    promote("ld01", "demo_leader", "区领导(只读)")
    for role, username, label in (
        (Role.SYSTEM_ADMIN, "demo_sysadmin", "系统管理员"),
        (Role.SECURITY_ADMIN, "demo_secadmin", "安全管理员"),
        (Role.AUDIT_ADMIN, "demo_auditor", "审计管理员"),
    ):
        add(username, role, district, demo_label=label)
    return StaffPlan(departments=departments, users=users)
