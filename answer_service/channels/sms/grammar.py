"""The SMS keyword grammar: what a citizen can text to the hotline's number.

    TTHC <words>          look procedures up by words        TTHC khai sinh
    MA <code>             one procedure by its code          MA 1.001193
    HS <dossier number>   status of a dossier (one-stop)     HS 000.00.12.H38-260101-0001
    HELP | TROGIUP        the list of keywords
    TUCHOI | STOP         stop receiving broadcasts (opt-out)
    DANGKY | DK           receive broadcasts again (opt-in)
    anything else         a question, answered or handed to an operator

Keywords are recognised whatever the case, with or without diacritics ("từ chối", "Trợ giúp"),
with extra spaces, a colon or dot after the keyword, or no space before a code ("MA1.001193").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from answer_service.channels.sms.encoding import strip_diacritics


class SmsCommand(str, Enum):
    LOOKUP = "lookup"
    CODE = "code"
    DOSSIER = "dossier"
    HELP = "help"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    QUESTION = "question"

    @classmethod
    def from_str(cls, value: str) -> SmsCommand:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown SMS command {value!r}; allowed: {allowed}") from None


@dataclass(frozen=True)
class ParsedSms:
    command: SmsCommand
    argument: str  # the text after the keyword, as the citizen wrote it (spaces collapsed)


_KEYWORDS: list[tuple[str, SmsCommand]] = [
    (r"TTHC", SmsCommand.LOOKUP),
    (r"MA", SmsCommand.CODE),
    (r"HS", SmsCommand.DOSSIER),
    (r"HELP|TRO\s*GIUP|HUONG\s*DAN", SmsCommand.HELP),
    (r"TU\s*CHOI|STOP|HUY\s*DANG\s*KY", SmsCommand.OPT_OUT),
    (r"DANG\s*KY|DK|START|DONG\s*Y", SmsCommand.OPT_IN),
]
_PATTERN = re.compile(
    r"^(?:" + "|".join(f"(?P<k{i}>{p})" for i, (p, _) in enumerate(_KEYWORDS)) + r")"
    # After the keyword: the end, a separator, or (for codes and dossiers) a digit at once.
    r"(?:$|[\s:.,;\-]+|(?=\d))(?P<rest>.*)$",
    re.DOTALL,
)
_NEEDS_ARGUMENT = {SmsCommand.LOOKUP, SmsCommand.CODE, SmsCommand.DOSSIER}
_NO_ARGUMENT = {SmsCommand.HELP, SmsCommand.OPT_OUT, SmsCommand.OPT_IN}


def _fold_same_length(text: str) -> str:
    """Upper-case, diacritics stripped, one character for one, so offsets carry over."""
    out = []
    for ch in text:
        folded = strip_diacritics(ch)
        out.append(folded.upper() if len(folded) == 1 else ch)
    return "".join(out)


def parse_sms(text: str) -> ParsedSms:
    """The command and its argument; free text (or a keyword without its argument) is a question.

    Args:
        text: The SMS body as received.
    """
    clean = " ".join(unicodedata.normalize("NFC", text).split())
    folded = _fold_same_length(clean)
    match = _PATTERN.match(folded)
    if match is None:
        return ParsedSms(SmsCommand.QUESTION, clean)
    command = next(cmd for i, (_, cmd) in enumerate(_KEYWORDS) if match.group(f"k{i}"))
    argument = clean[match.start("rest") :].strip(" :.,;-")
    if command in _NEEDS_ARGUMENT and not argument:
        return ParsedSms(SmsCommand.HELP, "")
    if command is SmsCommand.CODE and not re.match(r"\d", argument):
        # "Mã số thuế là gì" starts with MA but asks a question; a code starts with a digit.
        return ParsedSms(SmsCommand.QUESTION, clean)
    if command in _NO_ARGUMENT and argument:
        # "Đăng ký khai sinh ở đâu" starts with an opt-in keyword yet is a question.
        return ParsedSms(SmsCommand.QUESTION, clean)
    return ParsedSms(command, argument)


HELP_TEXT = (
    "Tong dai 1022: TTHC <tu khoa> tra cuu thu tuc; MA <ma> xem thu tuc; HS <so ho so> tra "
    "cuu ho so; TUCHOI ngung nhan tin; DANGKY nhan tin lai."
)
