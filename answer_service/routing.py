"""Scope routing: what kind of contact a message is, before any procedure is searched.

Emergencies go to their number and are never answered with a procedure; complaints and
denunciations get the proper channel; reports of broken public infrastructure become tickets;
unrelated chat gets a polite out-of-scope reply; everything else is a procedure question.

The rules are cue phrases, weighted and summed per route, matched with diacritics when the
message has them and folded when it has none (citizens often type without). Chat spellings
("ko", "dc", "vs") are read as the words they stand for first. Emergencies need an urgency or
danger cue together with their kind, so "thủ tục hưởng chế độ tai nạn lao động" stays a
procedure question; an acute state ("đột quỵ", "co giật", "bất tỉnh", "đuối nước", "bị cướp
giật") is an emergency on its own. Someone there now ("có người bị tai nạn"), a vehicle asked
for ("gọi xe cấp cứu") and a cry ("cứu với") are urgency; so is the brevity of a message of a
few words that names a danger ("cấp cứu", "cướp!"). A cry that names no danger ("cứu tôi với")
goes to 113. Three kinds of counter-cue raise the bars differently:

- cues of a procedure raise every bar: "sổ đỏ bị cháy, làm lại thế nào" asks for a new
  certificate, and the cues of one emergency count together only up to a cap, so that a fire
  told in many words does not outweigh the question about what it destroyed;
- what happened a while ago ("năm ngoái", "hôm qua") raises the emergency bar, and the report
  and chat bars, not the complaint bar;
- question words ("làm sao", "ở đâu") raise the report and chat bars, and the emergency bar
  only in a folded message, whose cues are often everyday words ("sap" is "sập" and "sắp").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from search.text.vietnamese import clean_text, fold_accents, has_diacritics, syllables


class Route(str, Enum):
    PROCEDURE = "procedure"
    EMERGENCY_113 = "emergency_113"  # police and security
    EMERGENCY_114 = "emergency_114"  # fire and rescue
    EMERGENCY_115 = "emergency_115"  # ambulance
    COMPLAINT = "complaint"  # khiếu nại, tố cáo, phản ánh về cán bộ
    INCIDENT_REPORT = "incident_report"  # broken public infrastructure, sanitation
    OUT_OF_DOMAIN = "out_of_domain"

    @property
    def is_emergency(self) -> bool:
        return self in (Route.EMERGENCY_113, Route.EMERGENCY_114, Route.EMERGENCY_115)


# Cue phrases, written with diacritics for readability and folded before matching.
_CUES: dict[Route, dict[str, float]] = {
    Route.EMERGENCY_113: {
        "đánh nhau": 3.5,
        "hung khí": 2,
        "dao": 0.5,
        "cướp": 2,
        "cướp giật": 1.5,
        "bị cướp": 1.5,
        "giật túi": 3,
        "giật dây chuyền": 3,
        "giật điện thoại": 3,
        "bị giật": 2.5,
        "trộm": 2.5,
        "đập phá": 2,
        "đánh vợ": 2,
        "đánh người": 2,
        # Beaten, cut or stabbed, said of oneself or of someone there: "tôi bị đánh".
        "bị đánh": 3,
        "đánh tôi": 3,
        "đánh em": 3,
        "bị chém": 3,
        "chém nhau": 3.5,
        "bị đâm": 3,
        "bạo hành": 2,
        "đe dọa": 1.5,
        "bắt cóc": 3,
        "giết": 2.5,
        "súng": 2,
        "lừa đảo": 1.5,
        "bị lừa": 2,
        "giả danh": 1.5,
        "chuyển tiền": 1,
        "say rượu": 1,
        "côn đồ": 2,
        "hành hung": 2,
        "xô xát": 2,
        "đột nhập": 2,
        "vào nhà": 1,
        "kẻ gian": 2,
        "cạy cửa": 3,
        "phá khóa": 3,
        "người lạ": 1,
        "rình rập": 1.5,
    },
    Route.EMERGENCY_114: {
        "cháy": 3,
        "bốc cháy": 1,
        "cháy rừng": 1,
        "bốc khói": 3,
        "mùi gas": 3,
        "vụ nổ": 3,
        "cuốn trôi": 3,
        "rơi xuống giếng": 3,
        "thang máy": 1,
        "cháy nhà": 2,
        "đang cháy": 1.5,
        "bị cháy": 1,
        "hỏa hoạn": 3,
        "phát nổ": 3,
        "bị nổ": 2,
        "tiếng nổ": 2,
        "khói": 1.5,
        "khí gas": 2,
        "nồng nặc": 1,
        "rò rỉ gas": 2.5,
        # A leak and what leaks count together: "khí gas bị rò rỉ", "bình gas bị xì".
        "rò rỉ": 1,
        "bị rò": 1,
        "bị xì": 1.5,
        "bình gas": 1.5,
        "gas bị rò": 2,
        "gas rò": 2,
        "rò gas": 3,
        "hở gas": 3,
        "xì gas": 3,
        "gas bị xì": 3,
        "rò rỉ khí": 2,
        "rò rỉ hóa chất": 2,
        "mùi ga": 3,
        "rò rỉ ga": 2.5,
        "khí ga": 2,
        "xì ga": 3,
        "mắc kẹt": 3,
        "bị kẹt": 2,
        "kẹt trên": 2,
        "lũ": 1.5,
        "nước dâng": 2,
        "đuối nước": 3,
        "chìm": 1.5,
        "sập": 1.5,
        "bị sập": 1.5,
        "nhà sập": 1.5,
        "cứu hộ": 2,
        "cứu nạn": 2,
    },
    Route.EMERGENCY_115: {
        "cấp cứu": 2.5,
        "xe cứu thương": 2.5,
        "khó thở": 2,
        "bất tỉnh": 3,
        "ngất": 2,
        "ngất xỉu": 1,
        "không tỉnh": 1.5,
        "co giật": 3,
        "chảy máu": 3,
        "máu chảy": 3,
        "bị thương": 1.5,
        "chảy nhiều máu": 2,
        "đột quỵ": 3,
        "ngộ độc": 3,
        "nuốt phải": 3,
        "hóc": 2,
        "mắc nghẹn": 3,
        "hóc xương": 1,
        "tự tử": 3,
        "rắn cắn": 3,
        "không thở": 3,
        "bất động": 2.5,
        "méo miệng": 3,
        "yếu nửa người": 3,
        "không cầm được": 1.5,
        "không ngừng": 1,
        "tím tái": 2.5,
        "không cử động": 2,
        "ngã từ": 1.5,
        "tai nạn": 1,
        # Said of a person, an accident is one that happened to them: "có người bị tai nạn".
        "bị tai nạn": 1,
        "xe tông": 1.5,
        "bị tông": 1.5,
        "xe đâm": 1.5,
        "đâm xe": 1.5,
        "tông xe": 1.5,
        "lật xe": 1.5,
        "điện giật": 3,
        "gãy": 1.5,
        "sốc phản vệ": 3,
        "đau ngực": 2,
        "dữ dội": 1,
    },
    Route.COMPLAINT: {
        "khiếu nại": 2.5,
        "tố cáo": 2.5,
        "phản ánh cán bộ": 2.5,
        "hách dịch": 2.5,
        "nhũng nhiễu": 2.5,
        "thái độ": 1.5,
        "quá hẹn": 1.5,
        "trễ hẹn": 1.5,
        "bức xúc": 1.5,
        "hối lộ": 2.5,
        "tiêu cực": 1.5,
        "vòi tiền": 2.5,
        "không đúng": 0.5,
        "tự ý": 1,
        "sai phạm": 2,
        "làm khó": 1.5,
        "hạch sách": 2.5,
        "quát nạt": 2,
        "phản ánh": 1,
        "bỏ túi": 2,
        "bồi dưỡng": 1,
        "đòi bồi dưỡng": 2.5,
        "đòi tiền": 2,
        "không ai giải quyết": 1.5,
        # An office that neither acts nor answers: "nộp 2 tuần không ai xử lý".
        "không ai xử lý": 1.5,
        "chưa ai xử lý": 1.5,
        "không ai nghe máy": 1.5,
        "bực mình": 1.5,
        "bực": 1,
        "không đồng ý với quyết định": 1.5,
        # Said as an intent, the complaint is the question: "muốn tố cáo thì gửi đâu".
        "muốn khiếu nại": 1.5,
        "muốn tố cáo": 1.5,
        "tố cáo ở đâu": 1.5,
        "khiếu nại ở đâu": 1.5,
        "đơn tố cáo": 1.5,
        "đơn khiếu nại": 1.5,
    },
    Route.INCIDENT_REPORT: {
        "ổ gà": 2.5,
        "nắp cống": 2.5,
        "cống": 1,
        "rác": 1.5,
        "thu gom": 1,
        "bốc mùi": 1.5,
        "đèn đường": 2.5,
        "đèn chiếu sáng": 2.5,
        "đèn giao thông": 2.5,
        "cây đổ": 2.5,
        "ngập": 1,
        "vỡ ống": 2.5,
        "mất nước": 2.5,
        "mất điện": 2.5,
        "ngày nay": 1,
        "không có nước": 1.5,
        "nước máy": 1,
        "sụt lún": 2.5,
        "hố": 1,
        "ô nhiễm": 1.5,
        "tiếng ồn": 1.5,
        "đường hư": 2.5,
        "hư hỏng": 1,
        "sụp": 1.5,
        "nguy hiểm": 0.5,
        "lấn chiếm": 1.5,
        "vỉa hè": 1.5,
        "đường liên xã": 1,
        "chưa ai": 1,
        "ai sửa": 1.5,
        "bật gốc": 2.5,
        "gãy đổ": 2,
        "chắn ngang": 1.5,
        "ống nước": 1.5,
        "ống nước vỡ": 1.5,
        "bể ống": 2.5,
        "bị vỡ": 1.5,
        "lênh láng": 1,
        "giữa đường": 1,
    },
    Route.OUT_OF_DOMAIN: {
        "xổ số": 3,
        "đá bóng": 3,
        "bóng đá": 3,
        "đội tuyển": 2.5,
        "thời tiết": 2.5,
        "bài hát": 3,
        "phim": 2,
        "giá vàng": 3,
        "chứng khoán": 2,
        "người yêu": 2.5,
        "nấu ăn": 3,
        "công thức nấu": 3,
        "trò chơi": 2,
        "kể chuyện": 2.5,
        "bạn tên": 2.5,
        "ca sĩ": 3,
        "tỷ số": 3,
        "đá với": 3,
        "có mưa": 2.5,
        "đi chơi": 1,
        "tâm sự": 3,
        "buồn quá": 2,
        "chán quá": 2,
    },
}
_URGENCY = {
    "đang": 1,
    "ngay": 1,
    "gấp": 1.5,
    "vừa": 0.5,
    "vừa bị": 1,
    # Someone there, now: "có người bị tai nạn", unlike "gia đình có người bị tai nạn lao động".
    "có người bị": 1.5,
    # A vehicle asked for is one needed now: "gọi xe cấp cứu", "cần cấp cứu".
    "gọi xe": 1,
    "gọi cấp cứu": 1,
    "cần xe": 1,
    "cần cấp cứu": 1,
    "gửi xe": 1,
    "cho xe": 1,
    "điều xe": 1,
    "giúp với": 1,
    "giúp tôi với": 1,
    "giúp em với": 1,
    "sợ quá": 1,
    "nhanh": 0.5,
    "giúp": 0.5,
    "báo ai": 1.5,
    "khẩn cấp": 2,
    "bây giờ": 0.5,
    "giờ làm sao": 1,
}
# Cries for help. They add to the urgency of any emergency they come with, and a cry that names
# no danger is an emergency of its own (see ``_decide``).
_CRIES: dict[str, float] = {
    "cứu với": 3,
    "cứu tôi": 3,
    "cứu em": 3,
    "cứu con": 3,
    "cứu chúng tôi": 3,
    "cứu mạng": 3,
    "cứu giúp": 2,
    "ai cứu": 2,
    "đến cứu": 2,
    "cứu": 2,
    # Not "help": on every channel it asks how the service is used (the SMS keyword HELP).
    "sos": 3,
}
_PROCEDURE_CUES = {
    "phòng cháy": 2,
    "chữa cháy": 2,
    "ngân hàng": 1,
    "thủ tục": 2,
    "hồ sơ": 1.5,
    "đăng ký": 1.5,
    "cấp lại": 1.5,
    "cấp giấy": 1.5,
    "giấy phép": 1.5,
    "lệ phí": 1.5,
    "chế độ": 1,
    "trợ cấp": 1,
    "xin cấp": 1.5,
    "giấy chứng nhận": 1.5,
    "chứng thực": 1.5,
    "thời gian giải quyết": 1.5,
    "giấy xác nhận": 1.5,
    "tai nạn lao động": 2,
    "giấy tờ gì": 1,
    "cần gì": 1,
    "thành lập": 2,
    "chứng chỉ": 1.5,
    "hành nghề": 1.5,
    "kết hôn": 1.5,
    "mất hết giấy tờ": 2,
    # A burnt document or banknote to replace is a procedure question, not a fire.
    "bằng lái": 1,
    "làm lại": 1.5,
    "xin lại": 1.5,
    "giấy tờ": 0.5,
    "sổ đỏ": 0.5,
    "giấy khai sinh": 0.5,
    "căn cước": 0.5,
    "đổi tiền": 2,
    "cháy sém": 2,
    "cháy xém": 2,
    "một góc": 2,
    "đổi được không": 1.5,
    # What happened before, asked about now: a death to register, a benefit to claim.
    "khai tử": 2.5,
    "chứng tử": 2.5,
    "hưởng chế độ": 1.5,
    "bảo hiểm": 1,
    "trái tuyến": 1.5,
    "thương tật": 1.5,
}
# Words any question has ("làm sao", "ở đâu"): they tell a question about a procedure from a
# report of a broken road or from chat, not from an emergency or a complaint, whose senders ask
# "làm sao" too.
_QUESTION_CUES = {"làm sao": 0.5, "ở đâu": 0.5, "bao lâu": 0.5}
# Something that happened a while ago is not an emergency now, and is what a procedure question
# tells more often than a complaint does.
_PAST_CUES = {
    "năm ngoái": 1.5,
    "hôm qua": 1,
    "tuần trước": 1.5,
    "tháng trước": 1.5,
    "trước đây": 1,
    "vừa rồi": 1.5,
    "vừa mất": 2,
    "đã mất": 2,
    "qua đời": 2,
    # What an ambulance or an accident costs, who pays and what it left behind are asked about
    # once it is over: "bị tai nạn mất sức lao động, xin công nhận hộ nghèo". Complaints about
    # a payment are still complaints, so these do not raise the complaint bar either.
    "chi phí": 1,
    "thanh toán": 1,
    "chi trả": 1,
    "miễn phí": 1,
    "mất phí": 1,
    "bồi thường": 1,
    "được hỗ trợ": 1,
    "mất sức lao động": 1.5,
    "khuyết tật": 1,
    "hộ nghèo": 1.5,
    "công nhận": 1,
}
# Several cues of one emergency ("cháy", "hỏa hoạn", "bị cháy") describe one event; summed
# without a bound they would outweigh any question about the document the event destroyed.
EMERGENCY_KIND_CAP = 4.5
# Chat spellings, read as the words they stand for before the cues are looked for.
_CHAT_WORDS = {
    "ko": "không",
    "k": "không",
    "hok": "không",
    "kh": "không",
    "dc": "được",
    "đc": "được",
    "r": "rồi",
    "j": "gì",
    "vs": "với",
    "mn": "mọi người",
    "bn": "bao nhiêu",
    "ntn": "như thế nào",
    "e": "em",
    "t": "tôi",
    "ng": "người",
    "bhyt": "bảo hiểm y tế",
    "bhxh": "bảo hiểm xã hội",
}
EMERGENCY_THRESHOLD = 3.0
COMPLAINT_THRESHOLD = 2.5
INCIDENT_THRESHOLD = 2.5
OUT_OF_DOMAIN_THRESHOLD = 2.5
# A message of a few words that names a danger ("cấp cứu", "cướp!") is the alarm itself; it
# counts as this much urgency when it asks nothing and names no procedure.
TERSE_AT_MOST = 3
TERSE_URGENCY = 1.0
# Greetings and particles a terse alarm may carry, as typed and folded: "alo, cấp cứu ạ".
_FILLERS = {"alo", "a", "ơi", "oi", "ạ", "à", "ad"}


# Each cue as (its words, its pattern, its weight). The pattern's lookarounds take no text, so
# a message holds a match only if it holds the words: a substring test spares the pattern.
Patterns = list[tuple[str, re.Pattern[str], float]]
# Folded, "chảy máu" (bleeding) reads "chay mau", the fire cue's "chay" followed by "mau",
# "nước chảy" (water flowing) "nuoc chay", "chạy grab" "chay grab", "tạm sử dụng" holds
# "tam su" and "bổ sung" "sung" (gun); "Hóc Môn" is a district, not choking.
_NOT_BEFORE = {
    "cháy": ("máu", "ra", "grab", "bộ", "thận"),
    "bị cháy": ("máu",),
    "đang cháy": ("máu", "ra", "grab", "bộ", "thận"),
    "nước dâng": ("chảy",),  # folded, "nuoc dang chay" is water flowing
    "tâm sự": ("dụng",),
    "hóc": ("môn",),
    # "bị đánh giá" (assessed), "đánh thuế" (taxed), "đánh rơi" (dropped), "đánh bắt" (fishing).
    "bị đánh": ("giá", "thuế", "dấu", "rơi", "mất", "số", "máy", "lừa", "bắt", "bạc", "cắp"),
    # Folded, "thiết bị đảm bảo" reads "thiet bi dam bao", and "xe đảm bảo" "xe dam bao".
    "bị đâm": ("bảo",),
    "xe đâm": ("bảo",),
    "bị thương": ("tật", "tích", "binh"),
    # Folded, "đăng ký", "đăng kiểm", "đăng nhập", "đăng tải" start with "dang" ("đang").
    "đang": ("ký", "kí", "kiểm", "nhập", "tải"),
    # "cứu" alone is no cry in "cứu hộ", "cứu trợ", "cứu chữa", "cứu đói", "giải cứu con tin".
    "cứu": ("hộ", "nạn", "trợ", "tế", "thương", "hỏa", "chữa", "sinh", "người", "tài", "đói"),
    "cứu con": ("tin",),
}
_NOT_AFTER = {
    "cháy": ("nước", "máu"),
    "đang cháy": ("nước",),
    "súng": ("bổ",),
    "bị đâm": ("thiết",),
    "có người bị": ("gia đình", "hộ"),
    # "nghiên cứu" (research), "tra cứu" (look up), "truy cứu" (to prosecute), "giải cứu" (to
    # free); alone, "cứu" is no cry in "cấp cứu" either, a cue of its own ("cấp cứu với" cries).
    **{cry: ("nghiên", "tra", "truy", "giải") for cry in _CRIES if cry.startswith("cứu")},
    "cứu": ("nghiên", "tra", "truy", "giải", "cấp"),
}
# Cues that, folded, are everyday words of procedure questions: "hoc" is "học" (to study),
# "co mua" "có mua" (to buy), "nguoi la" "người là", "bi vo" "bị vợ", "sap" "sắp" (soon), "den
# giao thong" "(liên quan) đến giao thông", "buc" "bức" or "bục". They count only in a message
# written with diacritics.
_ACCENTED_ONLY = {"hóc", "có mưa", "người lạ", "bị vỡ", "sập", "đèn giao thông", "bực"}
# Also "cuu" ("cừu", sheep; "cửu", nine), "khi ga" (when the station), "xi ga" ("xì gà", cigar),
# "cho xe" ("chờ xe", "chở xe") and "gui xe" (to park).
_ACCENTED_ONLY |= {"cứu", "khí ga", "xì ga", "cho xe", "gửi xe"}


def _compile(cues: dict[str, float], *, folded: bool) -> Patterns:
    def form(phrase: str) -> str:
        return fold_accents(phrase) if folded else phrase

    def guard(phrase: str) -> str:
        return "".join(
            rf"(?!\s+{re.escape(form(after))}(?!\w))" for after in _NOT_BEFORE.get(phrase, ())
        )

    def unless_after(phrase: str) -> str:
        return "".join(rf"(?<!{re.escape(form(before))} )" for before in _NOT_AFTER.get(phrase, ()))

    return [
        (
            form(p),
            re.compile(rf"{unless_after(p)}(?<!\w){re.escape(form(p))}(?!\w){guard(p)}"),
            w,
        )
        for p, w in cues.items()
        if not (folded and p in _ACCENTED_ONLY)
    ]


# A message with diacritics is matched with them: folded, "chảy" (bleeding) would be "cháy"
# (fire), "nó" (he) "nổ" (explosion) and "ngày" (day) "ngay" (at once). Only a message typed
# without any is matched folded.
_COMPILED = {
    folded: (
        {route: _compile(cues, folded=folded) for route, cues in _CUES.items()},
        _compile(_URGENCY, folded=folded),
        _compile(_CRIES, folded=folded),
        _compile(_PROCEDURE_CUES, folded=folded),
        _compile(_QUESTION_CUES, folded=folded),
        _compile(_PAST_CUES, folded=folded),
    )
    for folded in (False, True)
}


def _score(patterns: Patterns, text: str) -> float:
    return sum(
        weight for words, pattern, weight in patterns if words in text and pattern.search(text)
    )


@dataclass(frozen=True)
class RouteDecision:
    route: Route
    scores: dict[str, float]
    reason: str


def _spell_out_chat(text: str) -> str:
    return re.sub(r"\w+", lambda m: _CHAT_WORDS.get(m.group(0), m.group(0)), text)


# A message with diacritics on fewer of its syllables than this was mostly typed without them
# ("nhà tôi dang chay, cuu voi"): it is read folded, the way most of it was written.
MOSTLY_FOLDED_BELOW = 0.5


def classify_route(message: str) -> RouteDecision:
    """Decide the route of one message."""
    text = _spell_out_chat(clean_text(message).lower())
    words = syllables(text)
    marked = sum(1 for word in words if has_diacritics(word))
    if not marked:
        return _decide(fold_accents(text), folded=True)
    if marked < MOSTLY_FOLDED_BELOW * len(words):
        # Mixed: what was typed with diacritics may still say an emergency the folded reading
        # loses ("chảy" and "cháy" fold alike); an emergency in either reading is one.
        as_typed = _decide(text, folded=False)
        if as_typed.route.is_emergency:
            return as_typed
        return _decide(fold_accents(text), folded=True)
    return _decide(text, folded=False)


def _is_terse(text: str) -> bool:
    return sum(1 for word in syllables(text) if word not in _FILLERS) <= TERSE_AT_MOST


def _decide(text: str, *, folded: bool) -> RouteDecision:
    routes, urgency_patterns, cry_patterns, procedure_patterns, question_patterns, past_patterns = (
        _COMPILED[folded]
    )
    scores = {route.value: _score(patterns, text) for route, patterns in routes.items()}
    cries = _score(cry_patterns, text)
    procedure = _score(procedure_patterns, text)
    question = _score(question_patterns, text)
    past = _score(past_patterns, text)
    urgency = _score(urgency_patterns, text) + cries
    if not procedure + question + past and _is_terse(text):
        urgency += TERSE_URGENCY
    scores.update(urgency=urgency, cries=cries, procedure=procedure, question=question, past=past)

    emergencies = [r for r in Route if r.is_emergency]
    best = max(emergencies, key=lambda r: scores[r.value])
    emergency = min(scores[best.value], EMERGENCY_KIND_CAP)
    # Folded, many cues are also everyday words ("sap" is "sập" and "sắp", "ngay" "ngay" and
    # "ngày"): there a question word counts against an emergency too.
    bar = EMERGENCY_THRESHOLD + procedure + past + (question if folded else 0.0)
    if emergency and emergency + urgency >= bar:
        return RouteDecision(best, scores, "emergency cues with urgency")
    # "Cứu tôi với" and nothing more: the sender may be unable to say more, and a danger to a
    # person (an attacker, a kidnapper, a violent relative) is the likeliest one left unnamed.
    # 113, the police, is the general number for such a danger; 114 and 115 need a fire or a
    # patient, which the message would most likely have named.
    if cries and urgency >= bar:
        return RouteDecision(Route.EMERGENCY_113, scores, "cry for help naming no danger")
    if scores[Route.COMPLAINT.value] >= COMPLAINT_THRESHOLD + procedure * 0.5:
        return RouteDecision(Route.COMPLAINT, scores, "complaint or denunciation cues")
    everyday = procedure + question + past
    if scores[Route.INCIDENT_REPORT.value] >= INCIDENT_THRESHOLD + everyday:
        return RouteDecision(Route.INCIDENT_REPORT, scores, "infrastructure incident cues")
    if scores[Route.OUT_OF_DOMAIN.value] >= OUT_OF_DOMAIN_THRESHOLD + everyday:
        return RouteDecision(Route.OUT_OF_DOMAIN, scores, "unrelated topic")
    return RouteDecision(Route.PROCEDURE, scores, "default")
