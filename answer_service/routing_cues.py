"""The cue phrases of scope routing (``answer_service.routing``), with their weights, and the
words around a cue that take it back.

Cues are written with diacritics for readability; the router folds them for messages typed
without. Each table says in a comment what it is for.
"""

from __future__ import annotations

from enum import Enum


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
CUES: dict[Route, dict[str, float]] = {
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
        # A lift stuck with people in it: "kẹt giữa tầng", "kẹt trong thang máy".
        "kẹt giữa": 2,
        "kẹt trong": 2,
        # A child's hand or foot caught in a railing, a door, a machine.
        "kẹt tay": 2,
        "kẹt chân": 2,
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
        "uống nhầm": 3,
        "uống phải": 3,
        "đang nôn": 1.5,
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
        "chậm trễ": 1.5,
        "muốn phản ánh": 1.5,
        "không ai trả lời": 1.5,
        "đưa thêm tiền": 2,
        "quá ngày hẹn": 1.5,
        "không giải thích": 1,
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
        # A tree leaning over a road before it falls: "cây bị bão làm nghiêng, sắp đổ".
        "nghiêng": 1,
        "sắp đổ": 1.5,
        "cây xanh": 1,
        "chắn ngang": 1.5,
        "ống nước": 1.5,
        "ống nước vỡ": 1.5,
        "bể ống": 2.5,
        "bị vỡ": 1.5,
        "lênh láng": 1,
        "giữa đường": 1,
        # A road that caved in, a streetlight dark for weeks: "báo ai để sửa".
        "bị sụt": 2,
        "hố to": 1.5,
        "tối om": 1.5,
        "cột điện": 2,
        "dây điện": 1.5,
        "điện lực": 1,
        "để sửa": 1,
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
        # Folded, "co mua" is also "có mua" (to buy); with "trời" it is the weather.
        "trời có mưa": 2.5,
        "trời mưa": 2.5,
        "có mưa không": 2.5,
        "tỷ giá": 2,
        "mua vào bán ra": 3,
        "gia vị": 2.5,
        "món ăn": 2.5,
        "đi chơi": 1,
        "tâm sự": 3,
        "buồn quá": 2,
        "chán quá": 2,
    },
}
URGENCY = {
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
CRIES: dict[str, float] = {
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
PROCEDURE_CUES = {
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
    # A body asking leave to bring in a rescue team is applying, not calling for one.
    "cấp phép": 1.5,
    "đề nghị cấp": 1.5,
    # What happened before, asked about now: a death to register, a benefit to claim.
    "khai tử": 2.5,
    "chứng tử": 2.5,
    "hưởng chế độ": 1.5,
    "bảo hiểm": 1,
    "trái tuyến": 1.5,
    "thương tật": 1.5,
    # Rewards for a rescue, a death to report, benefits for an illness, goods and licences:
    # asked about, not happening.
    "khen thưởng": 2,
    "báo tử": 2.5,
    "ốm đau": 1.5,
    "xin trợ cấp": 2,
    "hỗ trợ người bị": 2,
    "kinh doanh": 1.5,
    "bán khí": 2,
    "súng săn": 2,
    # A document lost, burnt or damaged, listed: "báo cáo mất, cháy, hỏng tem điện tử".
    "mất, cháy": 2,
    "cháy, hỏng": 2,
    "cháy, nổ": 2,
    # Relief after a disaster, and work at sea, are asked about, not reported as they happen.
    "bất khả kháng": 2.5,
    "miễn, giảm": 2,
    "giảm thuế": 2,
    "cảng biển": 1.5,
    "hàng hải": 1.5,
}
# Words any question has ("làm sao", "ở đâu"): they tell a question about a procedure from a
# report of a broken road or from chat, not from an emergency or a complaint, whose senders ask
# "làm sao" too.
QUESTION_CUES = {"làm sao": 0.5, "ở đâu": 0.5, "bao lâu": 0.5}
# Something that happened a while ago is not an emergency now, and is what a procedure question
# tells more often than a complaint does.
PAST_CUES = {
    "năm ngoái": 1.5,
    "hôm qua": 1,
    "tối qua": 1,
    "đêm qua": 1,
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
    "mất tiền": 1,
    "tốn phí": 1,
    "tốn tiền": 1,
    "bao nhiêu tiền": 1,
    "hết bao nhiêu": 1,
    "bồi thường": 2,
    "được hỗ trợ": 1,
    "mất sức lao động": 1.5,
    "khuyết tật": 1,
    "hộ nghèo": 1.5,
    "công nhận": 1,
}
# Chat spellings, read as the words they stand for before the cues are looked for.
CHAT_WORDS = {
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
# Greetings and particles a terse alarm may carry, as typed and folded: "alo, cấp cứu ạ".
FILLERS = {"alo", "a", "ơi", "oi", "ạ", "à", "ad"}

# Folded, "chảy máu" (bleeding) reads "chay mau", the fire cue's "chay" followed by "mau",
# "nước chảy" (water flowing) "nuoc chay", "chạy grab" "chay grab", "tạm sử dụng" holds
# "tam su" and "bổ sung" "sung" (gun); "Hóc Môn" is a district, not choking.
NOT_BEFORE = {
    # Folded, "chạy thử" (a test run) and "chạy bằng" (runs on) read "chay thu", "chay bang".
    "cháy": ("máu", "ra", "grab", "bộ", "thận", "thử", "bằng"),
    "bị cháy": ("máu",),
    "đang cháy": ("máu", "ra", "grab", "bộ", "thận", "thử", "bằng"),
    # Folded, "khai thác từ tự nhiên" (taken from the wild) holds "tu tu".
    "tự tử": ("nhiên",),
    # Folded, "gặp khó khăn", "gặp mặt", "gặp gỡ", "gặp phải" start with "gap" ("gấp").
    "gấp": ("khó", "mặt", "gỡ", "phải"),
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
# Followers that rule a cue out only in a message typed without diacritics: folded, "chạy về",
# "chạy theo", "chạy trốn" (running somewhere, after someone, away) read "chay ve", while a fire
# does spread "cháy về phía nhà tôi".
FOLDED_NOT_BEFORE = {
    "cháy": ("về", "theo", "trốn"),
    "đang cháy": ("về", "theo", "trốn"),
}
NOT_AFTER = {
    # Folded, "vui chơi, giải trí dưới nước", "hoạt động dưới nước", "công trình dưới nước"
    # read "duoi nuoc".
    "đuối nước": ("trí", "động", "trình", "dụng", "việc"),
    # Folded, "để chạy xe" (to drive for a living) reads "de chay xe"; "ra khỏi", "thoát
    # khỏi" (to leave) read "ra khoi", "thoat khoi".
    "cháy": ("nước", "máu", "để", "không", "chưa"),
    "khói": ("ra", "rời", "thoát", "tránh"),
    "đang cháy": ("nước",),
    "súng": ("bổ",),
    # Folded, "công ty con do tập đoàn sở hữu" (a subsidiary owned by) reads "ty con do".
    "côn đồ": ("ty",),
    "bị đâm": ("thiết",),
    "có người bị": ("gia đình", "hộ"),
    # Folded, "ghi bí danh", "tên bí danh" (an alias) read "ghi bi danh", "ten bi danh".
    "bị đánh": ("ghi", "tên"),
    # "nghiên cứu" (research), "tra cứu" (look up), "truy cứu" (to prosecute), "giải cứu" (to
    # free); alone, "cứu" is no cry in "cấp cứu" either, a cue of its own ("cấp cứu với" cries).
    **{cry: ("nghiên", "tra", "truy", "giải") for cry in CRIES if cry.startswith("cứu")},
    "cứu": ("nghiên", "tra", "truy", "giải", "cấp", "người"),
}
# Cues that, folded, are everyday words of procedure questions: "hoc" is "học" (to study),
# "co mua" "có mua" (to buy), "nguoi la" "người là", "bi vo" "bị vợ", "sap" "sắp" (soon), "den
# giao thong" "(liên quan) đến giao thông", "buc" "bức" or "bục". They count only in a message
# written with diacritics.
ACCENTED_ONLY = {"hóc", "có mưa", "người lạ", "bị vỡ", "sập", "đèn giao thông", "bực"}
# Also "cuu" ("cừu", sheep; "cửu", nine), "khi ga" (when the station), "xi ga" ("xì gà", cigar),
# "cho xe" ("chờ xe", "chở xe") and "gui xe" (to park).
ACCENTED_ONLY |= {"cứu", "khí ga", "xì ga", "cho xe", "gửi xe"}
# And "voi tien", which is far more often "với tiền" (with money) than "vòi tiền" (to extort).
ACCENTED_ONLY |= {"vòi tiền"}
# "toi qua" is also "tôi qua" (I come over), "dem qua" "đem qua" (to bring over).
ACCENTED_ONLY |= {"tối qua", "đêm qua"}
