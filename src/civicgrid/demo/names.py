"""Synthetic Chinese personal names and phone numbers (deterministic from a Random)."""

from __future__ import annotations

import random
from itertools import accumulate

from civicgrid.demo import data

_SURNAMES = [s for s, _ in data.SURNAMES]
_SURNAME_CUM = list(accumulate(w for _, w in data.SURNAMES))


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]


def given_name(rng: random.Random, male: bool) -> str:
    pool = data.GIVEN_MALE if male else data.GIVEN_FEMALE
    if rng.random() < 0.3:
        return rng.choice(pool)
    first = rng.choice(pool + data.GIVEN_COMMON)
    return first + rng.choice(pool)


def mongolian_name(rng: random.Random, male: bool) -> str:
    given = rng.choice(data.MONGOLIAN_MALE if male else data.MONGOLIAN_FEMALE)
    if rng.random() < 0.35:
        return rng.choice(data.MONGOLIAN_SURNAMES) + given
    return given


def full_name(rng: random.Random, male: bool, *, family: str | None = None, ethnicity: str = "汉族") -> str:
    if ethnicity == "蒙古族" and rng.random() < 0.7:
        return mongolian_name(rng, male)
    return (family or surname(rng)) + given_name(rng, male)


def mobile(rng: random.Random) -> str:
    return rng.choice(data.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def landline(rng: random.Random) -> str:
    return "0471" + str(rng.choice((3, 4, 5, 6))) + f"{rng.randrange(10**6):06d}"
