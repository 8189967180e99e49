"""The ages a question tells, and the ages a procedure's name is for.

Some siblings differ only in the applicant's age: "Cấp thẻ căn cước cho người dưới 14 tuổi"
and "… cho người từ đủ 14 tuổi trở lên", or the birth registration joined with health
insurance "cho trẻ em dưới 6 tuổi". A parent asks "con tôi 6 tuổi" or "cháu vừa tròn 14
tuổi", which names neither range, so the words of the question cannot choose: the number does.

``ages_in`` reads the ages a question states in digits ("6 tuổi", "8 tháng tuổi" is 0), as
typed or without diacritics. ``age_range`` reads the range a name is for. A question whose
every age falls outside a name's range fits that name less (``search.name_match``); a question
that states no age, or a name without a range, changes nothing.

Usage example:

    ages_in("con tôi năm nay 6 tuổi, làm căn cước được không")  # [6]
    age_range("Cấp thẻ căn cước cho người dưới 14 tuổi")  # AgeRange(low=0, high=14)
    age_range("Cấp thẻ căn cước cho người dưới 14 tuổi").holds(14)  # False
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from search.text.vietnamese import fold_accents


@dataclass(frozen=True)
class AgeRange:
    """Ages from ``low`` (inclusive) to ``high`` (exclusive), in whole years."""

    low: float
    high: float

    def holds(self, age: int) -> bool:
        return self.low <= age < self.high


_QUESTION_AGE = re.compile(r"(?<![\d.,])(\d{1,3})\s*(thang|ngay|tuan)?\s*tuoi\b")
# Phrases of names, read folded and lower-case, and the range each says of its number N.
_RANGES: list[tuple[re.Pattern[str], Callable[[int], AgeRange]]] = [
    (re.compile(r"\b(?:tu )?du (\d{1,3}) tuoi tro len\b"), lambda n: AgeRange(n, math.inf)),
    (re.compile(r"\btu (\d{1,3}) tuoi tro len\b"), lambda n: AgeRange(n, math.inf)),
    (re.compile(r"\btren (\d{1,3}) tuoi\b"), lambda n: AgeRange(n + 1, math.inf)),
    (re.compile(r"\bduoi (\d{1,3}) tuoi\b"), lambda n: AgeRange(0, n)),
    (re.compile(r"\b(\d{1,3}) tuoi tro xuong\b"), lambda n: AgeRange(0, n + 1)),
]


def _ranges(folded: str) -> list[tuple[re.Match[str], AgeRange]]:
    return [
        (match, make(int(match.group(1))))
        for pattern, make in _RANGES
        for match in pattern.finditer(folded)
    ]


def ages_in(text: str) -> list[int]:
    """The ages, in whole years, that ``text`` states with digits; an age in months or days is 0.

    A range said in the question ("dưới 14 tuổi") stands for an age inside it (13): the
    citizen named that side of the line.
    """
    folded = fold_accents(text).lower()
    in_ranges = {}
    for match, found in _ranges(folded):
        in_ranges[match.start(1)] = int(found.low if found.high == math.inf else found.high - 1)
    ages = []
    for match in _QUESTION_AGE.finditer(folded):
        if match.start(1) in in_ranges:
            ages.append(in_ranges[match.start(1)])
        else:
            ages.append(0 if match.group(2) else int(match.group(1)))
    return ages


@lru_cache(maxsize=8192)
def age_range(name: str) -> AgeRange | None:
    """The range of ages a procedure's name is for, or None when it names none."""
    found = _ranges(fold_accents(name).lower())
    return found[0][1] if found else None


def outside(name: str, ages: Sequence[int]) -> bool:
    """Whether the question's ages all fall outside the name's range (False without either)."""
    found = age_range(name)
    if found is None or not ages:
        return False
    return not any(found.holds(age) for age in ages)
