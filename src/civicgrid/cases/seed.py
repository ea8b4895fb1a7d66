"""The seed catalogue of case categories: the report's three classes (矛盾纠纷, 治安隐患,
民生服务) and GB/T 30428's event and component classes, with a few sub-categories each.

Each tuple: (code, name, handling, department_kind, priority, is_public, children); a
child is (code suffix, name[, department_kind[, priority]]). Used by the data migration
0002 (and idempotent: existing codes are left alone)."""

from __future__ import annotations

from typing import Any

GRID = "grid_chief"
KIND = "department_kind"

CATALOGUE: list[tuple[str, str, str, str, str, bool, list[tuple[str, ...]]]] = [
    (
        "MD",
        "矛盾纠纷",
        GRID,
        "",
        "normal",
        False,
        [
            ("01", "邻里纠纷"),
            ("02", "家庭婚姻纠纷"),
            ("03", "物业纠纷"),
            ("04", "劳资纠纷", "human_resources"),
            ("05", "房屋租赁纠纷"),
        ],
    ),
    (
        "ZA",
        "治安隐患",
        KIND,
        "police",
        "high",
        False,
        [
            ("01", "治安隐患", "police"),
            ("02", "消防隐患", "fire", "urgent"),
            ("03", "可疑人员车辆", "police"),
            ("04", "重点人员动态", "governance"),
        ],
    ),
    (
        "MS",
        "民生服务",
        GRID,
        "",
        "normal",
        True,
        [
            ("01", "供水供暖", "utility"),
            ("02", "社会救助", "civil_affairs"),
            ("03", "就业社保", "human_resources"),
            ("04", "医疗卫生", "health"),
            ("05", "养老助残"),
            ("06", "政策咨询", "", "low"),
        ],
    ),
    # GB/T 30428 events (事件)
    (
        "SJ01",
        "市容环境",
        KIND,
        "city_management",
        "normal",
        True,
        [("01", "暴露垃圾"), ("02", "积存垃圾渣土"), ("03", "道路不洁"), ("04", "私搭乱建"), ("05", "绿地脏乱")],
    ),
    (
        "SJ02",
        "宣传广告",
        KIND,
        "city_management",
        "low",
        True,
        [("01", "违法张贴小广告"), ("02", "占道广告牌"), ("03", "非法悬挂横幅")],
    ),
    (
        "SJ03",
        "施工管理",
        KIND,
        "city_management",
        "normal",
        True,
        [("01", "施工扰民"), ("02", "工地扬尘"), ("03", "道路遗撒"), ("04", "违规占道施工")],
    ),
    (
        "SJ04",
        "突发事件",
        KIND,
        "utility",
        "urgent",
        True,
        [
            ("01", "路面塌陷", "city_management"),
            ("02", "自来水管破裂", "utility"),
            ("03", "燃气泄漏", "fire"),
            ("04", "下水道堵塞", "utility"),
            ("05", "热力管道破裂", "utility"),
            ("06", "道路积水", "city_management"),
        ],
    ),
    (
        "SJ05",
        "街面秩序",
        KIND,
        "city_management",
        "normal",
        True,
        [("01", "无照游商"), ("02", "占道经营"), ("03", "机动车乱停放"), ("04", "非机动车乱停放"), ("05", "露天烧烤")],
    ),
    # GB/T 30428 components (部件)
    (
        "BJ01",
        "公用设施",
        KIND,
        "utility",
        "normal",
        True,
        [("01", "井盖缺失破损"), ("02", "路灯故障"), ("03", "消防栓损坏", "fire"), ("04", "电力设施损坏")],
    ),
    (
        "BJ02",
        "道路交通",
        KIND,
        "city_management",
        "normal",
        True,
        [("01", "交通信号灯故障"), ("02", "交通标志损坏"), ("03", "护栏损坏"), ("04", "公交站亭损坏")],
    ),
    (
        "BJ03",
        "园林绿化",
        KIND,
        "city_management",
        "low",
        True,
        [("01", "行道树倒伏"), ("02", "绿地损坏"), ("03", "花坛损坏")],
    ),
    (
        "BJ04",
        "房屋土地",
        GRID,
        "",
        "normal",
        True,
        [("01", "危房"), ("02", "空置房屋"), ("03", "违章建筑", "city_management")],
    ),
    (
        "BJ05",
        "其他设施",
        KIND,
        "city_management",
        "low",
        True,
        [("01", "健身设施损坏"), ("02", "公共厕所"), ("03", "垃圾箱损坏")],
    ),
]


def seed_categories(category_model: Any) -> int:
    """Create the catalogue's missing categories; returns how many were created."""
    created = 0
    for order, (code, name, handling, kind, priority, public, children) in enumerate(CATALOGUE, start=1):
        parent, made = category_model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "handling": handling,
                "department_kind": kind,
                "priority": priority,
                "is_public": public,
                "sort_order": order * 10,
            },
        )
        created += int(made)
        for j, child in enumerate(children, start=1):
            suffix, child_name = child[0], child[1]
            child_kind = child[2] if len(child) > 2 else kind
            child_priority = child[3] if len(child) > 3 else priority
            _obj, made = category_model.objects.get_or_create(
                code=f"{code}{suffix}",
                defaults={
                    "parent": parent,
                    "name": child_name,
                    "handling": KIND if child_kind else GRID,
                    "department_kind": child_kind,
                    "priority": child_priority,
                    "is_public": public,
                    "sort_order": order * 10 + j,
                },
            )
            created += int(made)
    return created
