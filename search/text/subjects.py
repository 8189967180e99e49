"""Who a procedure is for, and whether a question speaks for an organisation or of abroad.

Many procedures come in pairs that differ in who submits them: a citizen's and an
organisation's version of the same certificate, or a citizen's licence and the licence of the
school that trains for it. Their names share most words, so a citizen asking about their own
driving licence was also shown "Cấp lại Giấy phép đào tạo lái xe ô tô" first. The portal
lists each procedure's subjects (đối tượng thực hiện) from a short vocabulary: "Công dân Việt
Nam", "Người nước ngoài" and "Người Việt Nam định cư ở nước ngoài" are people asking for
themselves; "Doanh nghiệp", "Hợp tác xã", "Tổ chức (…)", "Tổ chức nước ngoài" are bodies, and
"Cán bộ, công chức, viên chức" or "Đảng viên" are officials acting for theirs (the planning of
ports, the housing of civil servants): none of these is a citizen's own procedure.

A question that names no company, cooperative, office, official or other body is taken to be
a person's, and a procedure whose subjects are all bodies or officials fits it less
(``search.name_match``). A word like "tổ chức" in its other sense ("tổ chức đám cưới") only
turns that off for the question, which is the safe side. In the same way a procedure for
foreigners only ("Cấp đổi giấy chứng nhận căn cước", for people of Vietnamese origin without a
nationality) fits less a question that speaks of no foreigner, other country or life abroad.

Usage example:

    for_organisations_only(["Doanh nghiệp", "Hợp tác xã"])  # True
    speaks_for_organisation("công ty tôi muốn xin giấy phép")  # True
    for_foreigners_only(["Người nước ngoài", "Tổ chức nước ngoài"])  # True
    speaks_of_abroad("chồng tôi là Việt kiều")  # True
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from search.text.vietnamese import fold_accents

_PEOPLE = ("công dân", "người", "cá nhân", "hộ gia đình", "hộ kinh doanh")
"""Subjects starting with these are people asking for themselves: 'Công dân Việt Nam', …"""

_ORGANISATION_WORDS = (
    "công ty",
    "cty",
    "tnhh",
    "cổ phần",
    "doanh nghiệp",
    "dn",
    "hợp tác xã",
    "htx",
    "tổ hợp tác",
    "tổ chức",
    "cơ sở",
    "trường",
    "trung tâm đào tạo",
    "phòng khám",
    "nhà thuốc",
    "nhà hàng",
    "khách sạn",
    "cửa hàng",
    "nhà máy",
    "xí nghiệp",
    "xưởng",
    "chi nhánh",
    "tập đoàn",
    "hãng",
    "nhà xuất bản",
    "tòa soạn",
    "ban quản trị",
    "ban quản lý",
    "cán bộ",
    "công chức",
    "viên chức",
    "đảng viên",
)
"""Words for a body a question may speak for. Left out although they name bodies: words a
citizen says of a place or an agency they deal with ("nộp ở cơ quan nào", "sinh ở bệnh viện",
"vay ngân hàng", "thi ở trung tâm sát hạch", "văn phòng công chứng", "nhà dự án", "chủ đầu tư
chưa làm sổ"), which in the dev and tuning questions stood mostly for a citizen's own case."""

_ORGANISATION_SET = frozenset(_ORGANISATION_WORDS)
_NOT_BEFORE = {"trường": "hợp"}  # "trong trường hợp" is "in the case of"

_FOLDED_ORGANISATION_WORDS = frozenset(
    [
        fold_accents(word)
        for word in _ORGANISATION_WORDS
        # Folded, these are also everyday words: "co so" is "có sổ", "truong" "trưởng",
        # "xuong" "xuống", "hang" "hàng".
        if word not in ("cơ sở", "trường", "xưởng", "hãng")
    ]
    # ... and within these phrases they are not.
    + [
        "co so dao tao",
        "co so kinh doanh",
        "co so san xuat",
        "co so giao duc",
        "co so y te",
        "truong mam non",
        "truong mau giao",
        "truong hoc",
        "truong tieu hoc",
        "hang taxi",
        "hang xe",
        "nha xuong",
        "xuong may",
    ]
)
_FOREIGNERS = (
    "người nước ngoài",
    "tổ chức nước ngoài",
    "người việt nam định cư ở nước ngoài",
    "doanh nghiệp có vốn đầu tư nước ngoài",
)
"""Subjects starting with these are foreigners or live abroad."""

_ABROAD_WORDS = (
    "nước ngoài",
    "ngoại quốc",
    "việt kiều",
    "kiều bào",
    "định cư",
    "không quốc tịch",
    "hai quốc tịch",
    "thị thực",
    "visa",
    "người hàn",
    "người nhật",
    "người mỹ",
    "người trung quốc",
    "người đài loan",
    "người lào",
    "người campuchia",
)
_ABROAD_SET = frozenset(_ABROAD_WORDS)
_FOLDED_ABROAD_WORDS = frozenset(fold_accents(word) for word in _ABROAD_WORDS)
_LONGEST = max(
    len(word.split())
    for word in (*_ORGANISATION_WORDS, *_ABROAD_WORDS, *_FOLDED_ORGANISATION_WORDS)
)
_WORDS = re.compile(r"\w+")


def for_organisations_only(subjects: Sequence[str]) -> bool:
    """True when the procedure lists subjects and none is a person asking for themselves:
    all are bodies, or officials acting for one."""
    listed = [s.strip().lower() for s in subjects if s.strip()]
    return bool(listed) and not any(s.startswith(_PEOPLE) for s in listed)


def for_foreigners_only(subjects: Sequence[str]) -> bool:
    """True when the procedure lists subjects and all are foreigners or live abroad."""
    listed = [s.strip().lower() for s in subjects if s.strip()]
    return bool(listed) and all(s.startswith(_FOREIGNERS) for s in listed)


def speaks_for_organisation(text: str) -> bool:
    """Whether the question names a body it may speak for: as typed, and folded with the words
    that stay unambiguous folded (so "cong ty tôi", typed partly without diacritics, is one)."""
    return _says(text, _ORGANISATION_SET, _FOLDED_ORGANISATION_WORDS)


def speaks_of_abroad(text: str) -> bool:
    """Whether the question speaks of foreigners, another country or living abroad."""
    return _says(text, _ABROAD_SET, _FOLDED_ABROAD_WORDS)


def _says(text: str, accented: frozenset[str], folded_words: frozenset[str]) -> bool:
    words = _WORDS.findall(text.lower())
    folded = [fold_accents(word) for word in words]
    for size in range(1, _LONGEST + 1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start : start + size])
            after = words[start + size] if start + size < len(words) else ""
            if phrase in accented and _NOT_BEFORE.get(phrase) != after:
                return True
            if " ".join(folded[start : start + size]) in folded_words:
                return True
    return False
