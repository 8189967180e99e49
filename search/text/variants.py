"""The words that make a procedure a variant of its siblings, and what a question implies of them.

The catalogue names sibling procedures by one base and a word that marks the variant:

- an action at the head of the name: "Cấp **lại** chứng chỉ hành nghề" beside "Cấp mới chứng chỉ
  hành nghề", "Cấp giấy phép xây dựng **sửa chữa, cải tạo**" beside "Cấp giấy phép xây dựng mới",
  "**Điều chỉnh** thông tin trong Cơ sở dữ liệu" beside "Khai thác thông tin trong Cơ sở dữ liệu";
- a qualifier anywhere in it: "Đăng ký khai sinh **có yếu tố nước ngoài**", "Nhập quốc tịch Việt
  Nam **ở nước ngoài**". Not, though, when it qualifies one applicant of a list that names people
  at home in another item: "Cấp Phiếu Lý lịch tư pháp cho công dân Việt Nam, người nước ngoài
  đang cư trú tại Việt Nam, người Việt Nam đang cư trú **ở nước ngoài**" is the procedure for
  everyone, the one a citizen at home asks for.

A citizen who says none of the marked words asks for the base procedure; one who says a word, or
describes a situation that implies it ("bị mất" implies "lại", "sinh ra tại Nhật Bản" implies
"yếu tố nước ngoài"), asks for the variant. Name coverage alone cannot tell "Cấp lại X" from
"Cấp mới X" when the question says "cấp X": neither adds a word the question has.

Words are compared as whole syllables with their diacritics ("lái" is not "lại"). A question
typed without diacritics is read both ways: as restored by the retriever, which decides what it
surely says, and folded, which decides what it may say, so that a wrong restoration never costs
a name a penalty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from search.errors import ConfigurationError
from search.text.lexical import SYLLABLE
from search.text.vietnamese import clean_text, fold_accents, has_diacritics

DEFAULT_VARIANTS_PATH = Path(__file__).parent / "data" / "variants.json"
_PARENTHESES = re.compile(r"\([^)]*\)?")
_LIST_ITEM = re.compile(r"[,;]")
_AT_HOME = (("công", "dân", "việt", "nam"), ("hộ", "gia", "đình"), ("cá", "nhân"))
"""Applicants at home: a list that names them in one item and a qualifier in another is a list
of who may apply, not a variant. They count at the start of an item or after a word that
introduces applicants ("cho", "đối với", "của"), not inside another phrase ("giấy tờ cá nhân")."""
_APPLICANT_WORDS = (("cho",), ("đối", "với"), ("của",))
# "Cấp, cấp lại, sửa đổi giấy phép ...": the name lists the base action among its variants.
_ACTION_LIST = re.compile(r"^\s*(?:thủ tục\s+)?[^\W\d_]+(?:\s+[^\W\d_]+)?\s*,", re.IGNORECASE)
_NAME_CACHE_SIZE = 16_384
_TEXT_CACHE_SIZE = 64  # a few queries' texts, not a cache of questions
# "lại" marks a reissue after a verb of issuing ("cấp lại", "đăng ký lại"), not where it
# returns, regains or redoes something else: "trả lại giấy phép", "trở lại quốc tịch", "mua lại
# cổ phiếu", "tổ chức lại", "xác định lại diện tích", "cho thuê lại", "xây dựng lại", nor in
# the bailiff's title "Thừa phát lại". Citizens add their own: they "sửa lại", "chỉnh lại" or
# "cập nhật lại" a wrong entry, which is a correction; they "để lại" an inheritance, "ở lại"
# longer, "quay lại", "đi lại" or "qua lại" a border, "hoàn lại" a payment, "mở lại" a shop.
_AGAIN = ("lại",)
_NOT_REISSUE_BEFORE = frozenset(
    """trả phát trở mua chức định thả còn tính thuê vay lưu dựng sửa chỉnh nhật để ở quay đi
    qua hoàn mở toán xét tra giữ hẹn ngủ ngồi khóa dùng đòi nhường ngược""".split()
)

Syllables = tuple[str, ...]


def _syllables(text: str) -> Syllables:
    return tuple(s.lower() for s in SYLLABLE.findall(clean_text(text)))


def _find(haystack: Syllables, needle: Syllables, start: int = 0) -> int:
    """The index of the first occurrence of ``needle`` at or after ``start``; -1 if none."""
    n = len(needle)
    for i in range(start, len(haystack) - n + 1):
        if haystack[i : i + n] == needle:
            return i
    return -1


def _occurrences(haystack: Syllables, needle: Syllables) -> list[int]:
    found, at = [], _find(haystack, needle)
    while at != -1:
        found.append(at)
        at = _find(haystack, needle, at + 1)
    return found


def _outermost(sylls: Syllables, found: list[tuple[str, Syllables]]) -> frozenset[str]:
    """The markers found, less those only ever seen inside a longer one ("đổi" in "chuyển
    đổi"): one word of the name is one marker, and counted twice it cost its name double."""
    spans = [
        (start, start + len(words)) for _, words in found for start in _occurrences(sylls, words)
    ]

    def inside_a_longer(at: int, end: int) -> bool:
        return any(start <= at and end <= stop and stop - start > end - at for start, stop in spans)

    return frozenset(
        marker
        for marker, words in found
        if any(not inside_a_longer(at, at + len(words)) for at in _occurrences(sylls, words))
    )


def _marks(sylls: Syllables, words: Syllables) -> bool:
    """Whether ``words`` found in ``sylls`` mark a variant there: "lại" only where some
    occurrence follows no word that makes it something other than a reissue."""
    if words != _AGAIN:
        return True
    return any(
        at == 0 or sylls[at - 1] not in _NOT_REISSUE_BEFORE for at in _occurrences(sylls, words)
    )


def _names_applicant_at_home(item: Syllables) -> bool:
    for words in _AT_HOME:
        at = _find(item, words)
        while at != -1:
            if at == 0 or any(item[max(0, at - len(w)) : at] == w for w in _APPLICANT_WORDS):
                return True
            at = _find(item, words, at + 1)
    return False


def _with_nationals(nationals: dict[str, Any] | None, known: set[str]) -> dict[str, list[str]]:
    """The ``implied_by`` phrases of a ``nationals`` section: each people after each word
    that may name a person by it. ``known`` are the markers it may imply."""
    if not nationals:
        return {}
    implies = [str(m) for m in nationals["implies"]]
    unknown = sorted(set(implies) - known)
    if unknown:
        raise ValueError(f"nationals imply markers not among actions or qualifiers: {unknown}")
    after = [str(w) for w in nationals["after"]]
    only_after = {str(k): [str(w) for w in v] for k, v in nationals.get("only_after", {}).items()}
    peoples = [str(p) for p in nationals["peoples"]]
    stray = sorted(set(only_after) - set(peoples))
    if stray:
        raise ValueError(f"nationals.only_after names peoples not among peoples: {stray}")
    return {
        f"{word} {people}": implies for people in peoples for word in only_after.get(people, after)
    }


def _runs(sylls: Syllables, longest: int) -> set[Syllables]:
    """Every run of 1 to ``longest`` adjacent syllables: a phrase is found by one lookup."""
    return {sylls[i : i + n] for n in range(1, longest + 1) for i in range(len(sylls) - n + 1)}


@dataclass(frozen=True)
class NameVariant:
    """What a procedure's name marks.

    Attributes:
        actions: The marked actions at the head of the name.
        markers: ``actions`` and the qualifiers found anywhere in the name.
        lists_base: The name lists its base action too ("Cấp, cấp lại ..."), so its actions
            are not a variant the question must say.
        base: The name without its markers, its parentheses and the words that only frame
            it ("thủ tục", a leading "cấp", "mới", "ở trong nước"), folded: siblings share it
            ("Cấp lại thẻ căn cước (thực hiện tại cấp tỉnh)" and "Cấp đổi thẻ căn cước" are
            both "the can cuoc").
    """

    actions: frozenset[str]
    markers: frozenset[str]
    lists_base: bool
    base: Syllables = ()


@dataclass(frozen=True)
class QueryVariants:
    """The markers a question says or implies.

    Attributes:
        surely: Said with diacritics, as typed or as restored: a name without them is a
            worse match.
        maybe: ``surely``, what the question may say when read without diacritics, and what
            it loosely implies (``loosely_implied_by``): a name with none of them costs nothing.
        situations: The situations the question says, with diacritics (``situations_of``).
    """

    surely: frozenset[str]
    maybe: frozenset[str]
    situations: frozenset[str] = frozenset()


class VariantMarkers:
    """Finds variant markers in procedure names and in questions.

    Usage example:

        variants = VariantMarkers.load()
        variants.of_name("Cấp lại giấy phép lái xe").markers  # {"lại"}
        variants.in_query(["bị mất bằng lái"]).surely  # {"lại"}

    Args:
        actions: Marked actions, looked for at the head of a name.
        qualifiers: Marked qualifiers, looked for anywhere in a name outside parentheses.
        head_ends: Words that end the head of a name ("đối với", "cho", ...).
        implied_by: What a question says, mapped to the markers it implies.
        loosely_implied_by: What a question says, mapped to markers it may imply: a name with
            them pays nothing for leaving them unsaid, and no name pays for lacking them ("mất
            hộ chiếu" may be said to report the loss or to get a new passport). Read also
            without diacritics, as the markers are.
        situations: Situations that tell siblings of one base apart where the name states the
            case it covers ("Cấp lại chứng chỉ … (trong trường hợp chứng chỉ bị mất …)" beside
            "… (trong trường hợp chứng chỉ cũ đã hết hạn …)"), each with the words a citizen
            says it in.
        nationals: A foreign person named by nationality ("chồng tôi quốc tịch Hàn", "vợ
            tôi người Pháp"): ``peoples`` after any of ``after`` imply ``implies``, except that
            a people in ``only_after`` follows only the words listed there ("người Đức Thọ" is
            from a district of Hà Tĩnh, "chồng Nhật" may be a husband called Nhật). Phrases
            ``implied_by`` names keep what it says of them.
    """

    def __init__(
        self,
        *,
        actions: list[str],
        qualifiers: list[str],
        head_ends: list[str],
        implied_by: dict[str, list[str]],
        situations: dict[str, list[str]] | None = None,
        nationals: dict[str, Any] | None = None,
        loosely_implied_by: dict[str, list[str]] | None = None,
    ) -> None:
        known = set(actions) | set(qualifiers)
        loosely_implied_by = loosely_implied_by or {}
        for section, implied in (
            ("implied_by", implied_by),
            ("loosely_implied_by", loosely_implied_by),
        ):
            unknown = sorted({m for marks in implied.values() for m in marks} - known)
            if unknown:
                raise ValueError(
                    f"{section} names markers not among actions or qualifiers: {unknown}"
                )
        implied_by = _with_nationals(nationals, known) | implied_by
        self._actions = [(a, _syllables(a)) for a in actions]
        self._qualifiers = [(q, _syllables(q)) for q in qualifiers]
        self._head_ends = [_syllables(w) for w in head_ends]
        markers = self._actions + self._qualifiers
        triggers = [(_syllables(t), frozenset(marks)) for t, marks in implied_by.items()]
        self._markers = markers
        self._triggers = [(m, s) for s, ms in triggers for m in ms]
        self._accented = markers + self._triggers
        # Folded forms of the markers only: a folded trigger ("mat", "bo") says too much.
        self._folded = [(m, tuple(fold_accents(x) for x in s)) for m, s in markers]
        self._loose = [(m, _syllables(t)) for t, ms in loosely_implied_by.items() for m in ms]
        self._loose_folded = [(m, tuple(fold_accents(x) for x in s)) for m, s in self._loose]
        self._situations = [
            (situation, _syllables(word))
            for situation, words in (situations or {}).items()
            for word in [situation, *words]
        ]
        self._longest = max(
            (len(s) for _, s in self._accented + self._situations + self._loose), default=1
        )
        self.of_name = lru_cache(maxsize=_NAME_CACHE_SIZE)(self._of_name)
        self.situations_of = lru_cache(maxsize=_NAME_CACHE_SIZE)(self._situations_of)
        # The retriever reads a query's markers twice: in the name match and after the ranker.
        self._said_in = lru_cache(maxsize=_TEXT_CACHE_SIZE)(self._in_text)

    @classmethod
    def load(cls, path: Path | None = None) -> VariantMarkers:
        source = path or DEFAULT_VARIANTS_PATH
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
            return cls(
                actions=[str(a) for a in data["actions"]],
                qualifiers=[str(q) for q in data["qualifiers"]],
                head_ends=[str(w) for w in data["head_ends"]],
                implied_by={str(k): [str(m) for m in v] for k, v in data["implied_by"].items()},
                situations={
                    str(k): [str(w) for w in v] for k, v in data.get("situations", {}).items()
                },
                nationals=data.get("nationals"),
                loosely_implied_by={
                    str(k): [str(m) for m in v]
                    for k, v in data.get("loosely_implied_by", {}).items()
                },
            )
        except FileNotFoundError as exc:
            raise ConfigurationError(f"variant markers {source} do not exist") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(f"variant markers {source} are not valid: {exc}") from exc

    def _of_name(self, name: str) -> NameVariant:
        sylls = _syllables(_PARENTHESES.sub(" ", name))
        head_end = len(sylls)
        for words in self._head_ends:
            found = _find(sylls, words, 1)
            if found != -1:
                head_end = min(head_end, found)
        head = sylls[:head_end]
        actions = _outermost(
            head, [(a, s) for a, s in self._actions if _find(head, s) != -1 and _marks(head, s)]
        )
        qualifiers = frozenset(q for q, s in self._qualifiers if _find(sylls, s) != -1)
        if qualifiers:
            qualifiers -= self._listed_beside_home(name, qualifiers)
        return NameVariant(
            actions=actions,
            markers=actions | qualifiers,
            lists_base=bool(_ACTION_LIST.match(clean_text(name))),
            base=self._base(sylls, head_end, actions, qualifiers),
        )

    def _listed_beside_home(self, name: str, qualifiers: frozenset[str]) -> frozenset[str]:
        """The qualifiers that only qualify items of a list whose other items name applicants
        at home (see the module's docstring)."""
        items = [_syllables(item) for item in _LIST_ITEM.split(_PARENTHESES.sub(" ", name))]
        home = {i for i, item in enumerate(items) if _names_applicant_at_home(item)}
        if not home:
            return frozenset()
        listed = set()
        for qualifier, words in self._qualifiers:
            if qualifier in qualifiers:
                where = {i for i, item in enumerate(items) if _find(item, words) != -1}
                if where and not where & home:
                    listed.add(qualifier)
        return frozenset(listed)

    def _base(
        self,
        sylls: Syllables,
        head_end: int,
        actions: frozenset[str],
        qualifiers: frozenset[str],
    ) -> Syllables:
        keep = [True] * len(sylls)

        def drop(words: Syllables, start: int, end: int, *, before: str = "") -> None:
            at = _find(sylls[:end], words, start)
            if at == -1:
                return
            keep[at : at + len(words)] = [False] * len(words)
            if before and at > 0 and sylls[at - 1] == before:
                keep[at - 1] = False  # "có yếu tố nước ngoài"

        for action, words in self._actions:
            if action in actions:
                drop(words, 0, head_end)
        for qualifier, words in self._qualifiers:
            if qualifier in qualifiers:
                drop(words, 0, len(sylls), before="có")
        drop(("thủ", "tục"), 0, min(2, len(sylls)))
        drop(("mới",), 0, head_end)
        drop(("ở", "trong", "nước"), 0, len(sylls))
        first = next((i for i, kept in enumerate(keep) if kept), None)
        if first is not None and sylls[first] == "cấp":  # "Cấp lại X", "Gia hạn X": both "X"
            keep[first] = False
        return tuple(fold_accents(s) for s, kept in zip(sylls, keep, strict=True) if kept)

    def in_query(self, texts: list[str]) -> QueryVariants:
        """The markers that ``texts`` (a question, its restoration, its expansions) say."""
        surely: set[str] = set()
        maybe: set[str] = set()
        situations: set[str] = set()
        for text in texts:
            text_surely, text_maybe, text_situations = self._said_in(text)
            surely |= text_surely
            maybe |= text_maybe
            situations |= text_situations
        return QueryVariants(
            surely=frozenset(surely),
            maybe=frozenset(surely | maybe),
            situations=frozenset(situations),
        )

    def _in_text(self, text: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """What one text says surely (with diacritics), maybe (without) and of situations."""
        sylls = _syllables(text)
        if not has_diacritics(text):
            folded = tuple(fold_accents(s) for s in sylls)
            runs = _runs(folded, self._longest)
            maybe = _outermost(folded, [(m, s) for m, s in self._folded if s in runs])
            maybe |= {m for m, s in self._loose_folded if s in runs}
            return frozenset(), frozenset(maybe), frozenset()
        runs = _runs(sylls, self._longest)
        surely = _outermost(
            sylls, [(m, s) for m, s in self._markers if s in runs and _marks(sylls, s)]
        )
        surely |= {m for m, s in self._triggers if s in runs}
        situations = frozenset(w for w, s in self._situations if s in runs)
        loose = frozenset(m for m, s in self._loose if s in runs)
        return frozenset(surely), loose, situations

    def _situations_of(self, name: str) -> frozenset[str]:
        """The situations a name states, in its parentheses too: "Cấp lại giấy phép (trong
        trường hợp Giấy phép bị mất, bị rách)" states "mất" and "hỏng"."""
        runs = _runs(_syllables(name), self._longest)
        return frozenset(w for w, s in self._situations if s in runs)

    def unsaid(self, name: str, query: QueryVariants) -> int:
        """How many of the name's markers the question does not say, even read loosely."""
        variant = self.of_name(name)
        marked = variant.markers - variant.actions if variant.lists_base else variant.markers
        return len(marked - query.maybe)

    def penalty(self, name: str, query: QueryVariants, among: frozenset[str]) -> tuple[int, int]:
        """``unsaid`` and ``missing`` of the name, together."""
        return self.unsaid(name, query), self.missing(name, query, among)

    def missing(self, name: str, query: QueryVariants, among: frozenset[str]) -> int:
        """How many markers the question surely says, and a sibling in ``among`` has, that
        the name lacks."""
        return len((query.surely & among) - self.of_name(name).markers)
