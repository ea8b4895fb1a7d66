"""A synthetic but plausible resident population, as plain rows with territory codes.

Households are composed first (a lone elder, an elderly couple, a young couple, parents
with children, three generations...), so that ages, relations to the head and the tags
that depend on them (elderly, empty-nest, living alone, minor) hang together. Rates:
- ethnicity: Han majority, about 11% Mongolian, Hui, Manchu and a few others;
- residence: about 18% of households floating (ID region from other cities/provinces),
  0.4% from Hong Kong, Macao or Taiwan (residence-permit numbers 81/82/83...);
- party members: 6888 registered members over a district of ~400 000 (report), weighted
  towards older adults; league members among the young;
- disability ~6% (rising with age) with category and level; unemployment ~4% of working
  age; low-income (低保) ~2.5% of households; veterans ~3% of men over 35."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

from civicgrid.common.idcard import make_id_number
from civicgrid.demo import data, names
from civicgrid.demo.plan import TerritoryPlan
from civicgrid.people.enums import (
    DisabilityCategory,
    PersonTagKind,
    PoliticalStatus,
    ResidenceType,
)
from civicgrid.people.services import TagSpec

HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_SIZE_WEIGHTS = (0.12, 0.24, 0.30, 0.20, 0.09, 0.05)
DISABILITY_CATEGORIES = [
    (DisabilityCategory.PHYSICAL, 29),
    (DisabilityCategory.HEARING, 24),
    (DisabilityCategory.VISUAL, 14),
    (DisabilityCategory.MULTIPLE, 17),
    (DisabilityCategory.INTELLECTUAL, 7),
    (DisabilityCategory.MENTAL, 7),
    (DisabilityCategory.SPEECH, 2),
]
DISABILITY_LEVELS = [(1, 10), (2, 25), (3, 30), (4, 35)]
HOMETOWN_ROADS = ["人民路", "建设路", "解放路", "新华街", "胜利街", "团结路", "和平路", "幸福街", "光明路"]

# Party-member probability by age band, scaled so that the overall rate is about
# 6888 / 400 000 of the population (report).
_PARTY_BASE = data.DISTRICT_PARTY_MEMBERS / data.DISTRICT_NOMINAL_POPULATION


@dataclass(frozen=True, slots=True)
class ResidentSpec:
    name: str
    id_number: str
    grid_code: str
    building_code: str
    household_code: str
    phone: str
    registered_address: str
    current_address: str
    ethnicity: str
    political_status: str
    residence_type: str
    relation_to_head: str
    tags: tuple[str | TagSpec, ...]


@dataclass
class _Member:
    age: int
    male: bool
    relation: str


def _pick(rng: random.Random, table: list[tuple[str, str, int]]) -> tuple[str, str]:
    region, label, _ = rng.choices(table, weights=[w for _, _, w in table])[0]
    return region, label


def household_sizes(rng: random.Random, people: int, households: int) -> list[int]:
    """Sizes for ``households`` households summing to ``people`` exactly."""
    if people <= households:
        sizes = [0] * households
        for i in rng.sample(range(households), people):
            sizes[i] = 1
        return sizes
    cum = list(accumulate(HOUSEHOLD_SIZE_WEIGHTS))
    sizes = rng.choices(HOUSEHOLD_SIZES, cum_weights=cum, k=households)
    total = sum(sizes)
    while total != people:
        i = rng.randrange(households)
        if total < people and sizes[i] < 8:
            sizes[i] += 1
            total += 1
        elif total > people and sizes[i] > 1:
            sizes[i] -= 1
            total -= 1
    return sizes


def compose(rng: random.Random, size: int) -> list[_Member]:
    """Ages, sexes and relations of one household's members; the head comes first."""
    if size == 0:
        return []
    if size == 1:
        age = rng.randint(60, 92) if rng.random() < 0.45 else rng.randint(20, 59)
        return [_Member(age, rng.random() < 0.5, "户主")]

    def couple(lo: int, hi: int) -> list[_Member]:
        age = rng.randint(lo, hi)
        return [_Member(age, True, "户主"), _Member(max(18, age + rng.randint(-5, 3)), False, "配偶")]

    def child(parent_age: int) -> _Member:
        age = max(0, parent_age - rng.randint(22, 36))
        return _Member(age, rng.random() < 0.51, "子女")

    r = rng.random()
    if size == 2:
        if r < 0.45:
            return couple(60, 88)
        if r < 0.75:
            return couple(23, 59)
        parent = _Member(rng.randint(35, 75), rng.random() < 0.4, "户主")
        return [parent, child(parent.age)]
    if size == 3:
        if r < 0.8:
            members = couple(26, 52)
            return [*members, child(members[0].age)]
        members = couple(40, 58)
        return [*members, _Member(min(99, members[0].age + rng.randint(24, 32)), rng.random() < 0.4, "父母")]
    if size == 4:
        members = couple(30, 55)
        if r < 0.55:
            return [*members, child(members[0].age), child(members[0].age)]
        elder = _Member(min(99, members[0].age + rng.randint(24, 32)), rng.random() < 0.4, "父母")
        return [*members, child(members[0].age), elder]
    members = couple(32, 56)
    elder_age = min(95, members[0].age + rng.randint(24, 32))
    elders = [_Member(elder_age, True, "父母"), _Member(max(50, elder_age - rng.randint(0, 4)), False, "父母")]
    kids = [child(members[0].age) for _ in range(size - 4)]
    return [*members, *elders, *kids]


def _birth(rng: random.Random, age: int) -> dt.date:
    ref = data.REFERENCE_DATE
    latest = ref.replace(year=ref.year - age) if not (ref.month == 2 and ref.day == 29) else ref
    return latest - dt.timedelta(days=rng.randrange(365))


def _political(rng: random.Random, age: int) -> str:
    if age < 14:
        return PoliticalStatus.MASSES
    if age < 18:
        return PoliticalStatus.LEAGUE_MEMBER if rng.random() < 0.45 else PoliticalStatus.MASSES
    r = rng.random()
    weight = 2.0 if age >= 60 else 1.2 if age >= 30 else 0.7
    party = _PARTY_BASE * weight
    if r < party:
        return PoliticalStatus.PARTY_MEMBER
    if r < party + 0.0008:
        return PoliticalStatus.PROBATIONARY
    if r < party + 0.004:
        return PoliticalStatus.OTHER_PARTY
    if age <= 28 and r < 0.3:
        return PoliticalStatus.LEAGUE_MEMBER
    return PoliticalStatus.MASSES


def plan_residents(plan: TerritoryPlan) -> Iterator[ResidentSpec]:
    """Every resident of the plan, household by household, community by community."""
    rng = random.Random(f"civicgrid-demo:{plan.seed}:people")
    street_names = {s.code: s.name for s in plan.streets}
    community_of = {g.code: g.parent_code for g in plan.grids}
    communities = {c.code: c for c in plan.communities}
    compounds = {c.code: c for c in plan.compounds}
    buildings = {b.code: b for b in plan.buildings}
    households_by_community: dict[str, list[str]] = defaultdict(list)
    hh_specs = {h.code: h for h in plan.households}
    for h in plan.households:
        households_by_community[str(community_of[h.grid_code])].append(h.code)
    used_ids: set[str] = set()
    ethnic_cum = list(accumulate(w for _, w in data.ETHNICITIES))
    ethnic_names = [e for e, _ in data.ETHNICITIES]
    dis_cats = [c for c, _ in DISABILITY_CATEGORIES]
    dis_w = [w for _, w in DISABILITY_CATEGORIES]
    dis_levels = [lv for lv, _ in DISABILITY_LEVELS]
    dis_lw = [w for _, w in DISABILITY_LEVELS]

    for community in plan.communities:
        hh_codes = households_by_community[community.code]
        sizes = household_sizes(rng, plan.community_residents[community.code], len(hh_codes))
        street = street_names[str(communities[community.code].parent_code)]
        for hh_code, size in zip(hh_codes, sizes, strict=True):
            if size == 0:
                continue
            hh = hh_specs[hh_code]
            building = buildings[hh.building_code]
            compound = compounds[building.compound_code]
            address = (
                f"{data.CITY_PREFIX}{street}{community.name}{compound.name}{building.name}{hh.unit}单元{hh.room}室"
            )
            r = rng.random()
            residence = (
                ResidenceType.OVERSEAS
                if r < 0.004
                else ResidenceType.FLOATING
                if r < 0.184
                else ResidenceType.REGISTERED
            )
            ethnicity = rng.choices(ethnic_names, cum_weights=ethnic_cum)[0]
            family = names.surname(rng)
            low_income = rng.random() < 0.025
            members = compose(rng, size)
            all_elderly = all(m.age >= 60 for m in members)
            for member in members:
                eth = (
                    ethnicity
                    if member.relation != "配偶" or rng.random() < 0.9
                    else rng.choices(ethnic_names, cum_weights=ethnic_cum)[0]
                )
                keeps_family = member.relation in ("户主", "子女") and (member.male or member.relation == "子女")
                name = names.full_name(rng, member.male, family=family if keeps_family else None, ethnicity=eth)
                if residence == ResidenceType.OVERSEAS:
                    region, label = _pick(rng, data.OVERSEAS_REGIONS)
                elif residence == ResidenceType.FLOATING:
                    region, label = _pick(rng, data.FLOATING_REGIONS)
                elif member.age < 30 and rng.random() < 0.8:
                    region, label = data.DISTRICT_CODE, data.CITY_PREFIX
                else:
                    region, label = _pick(rng, data.HOME_REGIONS)
                birth = _birth(rng, member.age)
                seq = rng.randrange(1000)
                number = make_id_number(region, birth, seq, member.male)
                while number in used_ids:
                    seq = (seq + 2) % 1000
                    number = make_id_number(region, birth, seq, member.male)
                used_ids.add(number)
                if residence == ResidenceType.REGISTERED and region == data.DISTRICT_CODE:
                    registered = address
                else:
                    registered = f"{label}{rng.choice(HOMETOWN_ROADS)}{rng.randint(1, 300)}号"
                if member.age >= 75 and rng.random() < 0.3:
                    phone = names.landline(rng)
                elif member.age >= 14 or (member.age >= 10 and rng.random() < 0.3):
                    phone = names.mobile(rng)
                else:
                    phone = ""
                political = _political(rng, member.age)
                tags: list[str | TagSpec] = []
                if member.age >= 60:
                    tags.append(PersonTagKind.ELDERLY)
                    if all_elderly:
                        tags.append(PersonTagKind.EMPTY_NEST)
                        if size == 1:
                            tags.append(PersonTagKind.LIVING_ALONE)
                if member.age < 18:
                    tags.append(PersonTagKind.MINOR)
                disability_rate = 0.015 if member.age < 18 else 0.04 if member.age < 60 else 0.12
                if rng.random() < disability_rate:
                    tags.append(
                        TagSpec(
                            kind=PersonTagKind.DISABLED,
                            disability_category=rng.choices(dis_cats, weights=dis_w)[0],
                            disability_level=rng.choices(dis_levels, weights=dis_lw)[0],
                        )
                    )
                if 22 <= member.age < 60 and rng.random() < 0.04:
                    tags.append(PersonTagKind.UNEMPLOYED)
                if political in (PoliticalStatus.PARTY_MEMBER, PoliticalStatus.PROBATIONARY):
                    tags.append(PersonTagKind.PARTY_MEMBER)
                    if residence == ResidenceType.FLOATING:
                        tags.append(PersonTagKind.MOBILE_PARTY_MEMBER)
                if low_income:
                    tags.append(PersonTagKind.LOW_INCOME)
                if member.male and member.age >= 35 and rng.random() < 0.03:
                    tags.append(PersonTagKind.VETERAN)
                yield ResidentSpec(
                    name=name,
                    id_number=number,
                    grid_code=hh.grid_code,
                    building_code=building.code,
                    household_code=hh.code,
                    phone=phone,
                    registered_address=registered,
                    current_address=address,
                    ethnicity=eth,
                    political_status=political,
                    residence_type=residence,
                    relation_to_head=member.relation,
                    tags=tuple(tags),
                )
