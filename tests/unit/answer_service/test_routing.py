import pytest

from answer_service.routing import Route, classify_route
from search.text.vietnamese import fold_accents


@pytest.mark.parametrize(
    ("message", "route"),
    [
        ("Có kẻ cướp đang cầm dao trong nhà tôi, cứu với", Route.EMERGENCY_113),
        ("co ke trom dang dot nhap nha hang xom", Route.EMERGENCY_113),
        ("Kho hàng bên cạnh đang cháy lớn, khói đen mù mịt", Route.EMERGENCY_114),
        ("Bà tôi đột nhiên bất tỉnh, gọi giúp xe cấp cứu gấp", Route.EMERGENCY_115),
        ("Tôi muốn khiếu nại quyết định thu hồi đất của xã", Route.COMPLAINT),
        ("Đèn đường cả dãy phố tắt mấy tuần nay", Route.INCIDENT_REPORT),
        ("Hôm nay thời tiết Hà Nội thế nào?", Route.OUT_OF_DOMAIN),
        ("Thủ tục cấp lại giấy phép lái xe bị mất", Route.PROCEDURE),
    ],
)
def test_routes(message: str, route: Route) -> None:
    assert classify_route(message).route is route


@pytest.mark.parametrize(
    "message",
    [
        "Thủ tục hưởng trợ cấp tai nạn lao động cần hồ sơ gì?",
        "Hồ sơ đề nghị cấp giấy chứng nhận đủ điều kiện phòng cháy chữa cháy",
        "Đăng ký khai tử cho người bị tai nạn giao thông",
    ],
)
def test_procedure_questions_about_dangerous_topics_stay_procedures(message: str) -> None:
    assert classify_route(message).route is Route.PROCEDURE


def test_emergency_without_diacritics() -> None:
    assert (
        classify_route("nha ben canh dang chay lon, co nguoi bi ket").route is Route.EMERGENCY_114
    )


@pytest.mark.parametrize(
    ("message", "route"),
    [
        ("có trộm vào nhà tôi", Route.EMERGENCY_113),
        ("co trom vao nha toi", Route.EMERGENCY_113),
        ("nhà tôi đang bị cháy", Route.EMERGENCY_114),
        ("cháy nhà", Route.EMERGENCY_114),
        ("bố tôi bị đột quỵ", Route.EMERGENCY_115),
        ("co nguoi bi dot quy", Route.EMERGENCY_115),
        ("ông tôi ngất xỉu không tỉnh", Route.EMERGENCY_115),
        ("con tôi bị co giật", Route.EMERGENCY_115),
        ("có người bị tai nạn giao thông chảy nhiều máu", Route.EMERGENCY_115),
        ("có người đuối nước ở sông", Route.EMERGENCY_114),
        ("bi cuop giat dien thoai", Route.EMERGENCY_113),
        ("nhà tôi đang bị cháy, giấy tờ còn trong nhà", Route.EMERGENCY_114),
    ],
)
def test_short_emergencies_without_an_urgency_word(message: str, route: Route) -> None:
    assert classify_route(message).route is route


@pytest.mark.parametrize(
    "message",
    [
        "sổ đỏ bị cháy mất thì làm lại thế nào",
        "giấy khai sinh gốc bị cháy rồi, giờ làm lại được không",
        "nhà bị cháy giấy tờ mất hết giờ làm lại căn cước ngay được không",
        "tờ tiền bị cháy sém một góc thì đổi ở đâu",
        "Hồ sơ hưởng chế độ ốm đau khi bị đột quỵ gồm những gì?",
    ],
)
def test_a_burnt_document_or_an_illness_in_a_procedure_question_is_no_emergency(
    message: str,
) -> None:
    assert classify_route(message).route is Route.PROCEDURE


# Phrasings a reviewer wrote on both sides of the line, each checked as typed and folded.
ROUTED = [
    ("đau ngực dữ dội, khó thở", Route.EMERGENCY_115),
    ("con tôi nuốt phải pin", Route.EMERGENCY_115),
    ("bố tôi bị rắn cắn", Route.EMERGENCY_115),
    ("ông tôi méo miệng, yếu nửa người", Route.EMERGENCY_115),
    ("cứu với con tôi không thở được", Route.EMERGENCY_115),
    ("có người bị xe tông nằm bất động", Route.EMERGENCY_115),
    ("con tôi bị chảy máu mũi không cầm được", Route.EMERGENCY_115),
    ("nó bị chảy máu nhiều lắm", Route.EMERGENCY_115),
    ("cháy", Route.EMERGENCY_114),
    ("xe ô tô bốc cháy trên đường", Route.EMERGENCY_114),
    ("mùi khí gas nồng nặc trong bếp", Route.EMERGENCY_114),
    ("bị mắc kẹt trong thang máy", Route.EMERGENCY_114),
    ("nước lũ lên, có người bị cuốn trôi", Route.EMERGENCY_114),
    ("đứa bé rơi xuống giếng", Route.EMERGENCY_114),
    (
        "cháy nhà rồi, sổ đỏ giấy khai sinh căn cước còn trong đó, làm sao bây giờ",
        Route.EMERGENCY_114,
    ),
    ("đánh nhau to ở đầu ngõ", Route.EMERGENCY_113),
    ("tôi vừa bị giật túi xách", Route.EMERGENCY_113),
    ("làm giấy chứng tử cho bố bị đột quỵ mất hôm qua", Route.PROCEDURE),
    ("khai tử cho ông bị đuối nước mất tuần trước cần gì", Route.PROCEDURE),
    ("bảo hiểm y tế trả tiền cấp cứu trái tuyến trong mấy ngày", Route.PROCEDURE),
    ("tôi bị đột quỵ năm ngoái giờ xin hưởng chế độ ốm dài ngày", Route.PROCEDURE),
    ("giấy phép lái xe bị cháy trong vụ hỏa hoạn năm ngoái, làm lại thế nào", Route.PROCEDURE),
    ("bằng lái bị cháy mất một góc có đổi được không", Route.PROCEDURE),
    ("chứng nhận thương tật cho nạn nhân bị cướp đâm", Route.PROCEDURE),
]


@pytest.mark.parametrize(("message", "route"), ROUTED)
@pytest.mark.parametrize("folded", [False, True])
def test_both_sides_of_the_emergency_line(message: str, route: Route, folded: bool) -> None:
    text = fold_accents(message) if folded else message
    assert classify_route(text).route is route


def test_a_message_with_diacritics_is_matched_with_them() -> None:
    # Folded, "chảy" is "cháy" and "nó" is "nổ": bleeding is no fire.
    assert classify_route("nó bị chảy máu nhiều lắm").scores["emergency_114"] == 0


@pytest.mark.parametrize(
    ("message", "route"),
    [
        # A fire that destroyed a document, asked about afterwards: the document is the question.
        (
            "Sổ hộ khẩu và giấy khai sinh nhà tôi bị cháy hết trong vụ hỏa hoạn tháng 5, "
            "làm lại ở đâu, thời gian giải quyết bao lâu?",
            Route.PROCEDURE,
        ),
        # An acute state is an emergency even when the sender asks "làm sao".
        ("con em 3 tuổi nuốt phải đồng xu, giờ làm sao ạ", Route.EMERGENCY_115),
        ("Có người đang cạy cửa nhà bên cạnh, tôi phải làm sao?", Route.EMERGENCY_113),
        # Said as an intent, a denunciation is one, whatever procedure it is about.
        (
            "Tôi nộp hồ sơ đăng ký đất đai quá hẹn hai tháng, cán bộ đòi bồi dưỡng, "
            "tôi muốn tố cáo thì gửi đơn ở đâu?",
            Route.COMPLAINT,
        ),
        ("csgt thu tiền bỏ túi ko biên lai, tố cáo ở đâu ạ", Route.COMPLAINT),
        ("cán bộ một cửa quát nạt, hạch sách dân, tôi muốn phản ánh", Route.COMPLAINT),
        # A report tells when it happened; that does not make it a procedure question.
        ("ổ gà giữa đường hôm qua làm 2 xe ngã, ai sửa vậy", Route.INCIDENT_REPORT),
        ("Cây xanh bật gốc chắn ngang đường sau bão, xin báo xử lý", Route.INCIDENT_REPORT),
        ("ad ơi rảnh không, tâm sự chút, buồn quá", Route.OUT_OF_DOMAIN),
    ],
)
def test_kinds_of_message_seen_in_the_second_question_set(message: str, route: Route) -> None:
    assert classify_route(message).route is route


@pytest.mark.parametrize(
    ("message", "route"),
    [
        # "nuoc chay" is water flowing ("nước chảy"), not a fire.
        ("ong nuoc may bi vo, nuoc chay tran ra giua duong", Route.INCIDENT_REPORT),
        # "sap" is "sắp" (about to) and "ngay" "ngày": no collapse, no urgency.
        ("ho chieu sap het han, ngay mai lam lai o dau", Route.PROCEDURE),
        ("phe duyet phuong an tam su dung rung", Route.PROCEDURE),
        ("con em nuot phai dong xu, lam sao bay gio", Route.EMERGENCY_115),
    ],
)
def test_folded_words_that_are_also_everyday_words(message: str, route: Route) -> None:
    assert classify_route(message).route is route


@pytest.mark.parametrize(
    ("message", "route"),
    [
        # Mostly typed without diacritics: read folded, and an emergency either way is one.
        ("nhà tôi dang chay, cuu voi", Route.EMERGENCY_114),
        ("nha toi đang chay, cuu voi", Route.EMERGENCY_114),
        ("tai nan xe may, nguoi bi thuong mau chay nhieu lam", Route.EMERGENCY_115),
        # Folded words that are everyday ones: "chạy grab", "sắp", "bổ sung", "nước chảy".
        ("toi dang chay grab can giay to gi", Route.PROCEDURE),
        ("bang lai sap het han, can doi gap, nhanh giup em", Route.PROCEDURE),
        ("can bo sung giay to gi gap", Route.PROCEDURE),
        ("ong nuoc vo, nuoc dang chay ra duong", Route.INCIDENT_REPORT),
        # A place name, a hurried procedure question, a death that has happened, a fire that
        # is over.
        ("tôi ở Hóc Môn, đang cần gấp giấy khai sinh cho con", Route.PROCEDURE),
        ("Tôi đang cần gấp giấy xác nhận tai nạn lao động", Route.PROCEDURE),
        ("bố tôi vừa mất vì đột quỵ, cần làm giấy tờ gì", Route.PROCEDURE),
        (
            "vụ cháy chung cư vừa rồi, gia đình tôi mất hết giấy tờ, giờ phải làm gì",
            Route.PROCEDURE,
        ),
        # Outages are reports; bribes and delays are complaints.
        ("Khu phố tôi mất điện từ sáng đến giờ", Route.INCIDENT_REPORT),
        ("chung cư mất nước 2 ngày nay, ban quản lý không giải quyết", Route.INCIDENT_REPORT),
        ("cán bộ một cửa đòi bồi dưỡng mới nhận hồ sơ", Route.COMPLAINT),
        ("ho so cua toi tre hen 2 thang ko ai giai quyet, buc xuc qua", Route.COMPLAINT),
        # Words of leisure inside a procedure question.
        ("muốn cưới người yêu người nước ngoài cần gì", Route.PROCEDURE),
        ("thành lập câu lạc bộ bóng đá chuyên nghiệp cần gì", Route.PROCEDURE),
        ("chứng chỉ hành nghề chứng khoán cần gì", Route.PROCEDURE),
    ],
)
def test_kinds_of_message_a_reviewer_sent(message: str, route: Route) -> None:
    assert classify_route(message).route is route


@pytest.mark.parametrize(
    ("message", "route"),
    [
        # An office that neither acts nor answers is a complaint, with or without its word.
        (
            "hồ sơ đăng ký kết hôn nộp online 3 tuần rồi không ai xử lý, gọi lên phường "
            "không ai nghe máy, bực mình quá",
            Route.COMPLAINT,
        ),
        ("Đèn chiếu sáng ở ngõ nhà tôi tắt cả tháng nay", Route.INCIDENT_REPORT),
        ("đèn giao thông ở ngã tư chợ bị hỏng từ sáng", Route.INCIDENT_REPORT),
        # Folded, "den giao thong" is also "(liên quan) đến giao thông".
        ("thoa thuan cac cong trinh lien quan den giao thong duong thuy noi dia", Route.PROCEDURE),
        ("Thủ tục cấp phép lắp đèn chiếu sáng quảng cáo trên vỉa hè", Route.PROCEDURE),
    ],
)
def test_kinds_of_message_seen_in_the_third_question_set(message: str, route: Route) -> None:
    assert classify_route(message).route is route


# Distress told as it happens, next to a procedure question that uses the same words; each pair
# is checked as typed and folded.
DISTRESS_AND_QUESTION = [
    ("có người bị tai nạn", Route.EMERGENCY_115, "bị tai nạn lao động thì hưởng chế độ gì"),
    (
        "có người bị tai nạn giao thông",
        Route.EMERGENCY_115,
        "bồi thường tai nạn giao thông năm ngoái",
    ),
    (
        "có người bị tai nạn, giúp tôi với",
        Route.EMERGENCY_115,
        "gia đình có người bị tai nạn giao thông được hỗ trợ gì",
    ),
    ("tôi vừa bị tai nạn", Route.EMERGENCY_115, "hưởng trợ cấp tai nạn lao động"),
    ("có người bị thương", Route.EMERGENCY_115, "chế độ tai nạn lao động"),
    ("có người bị điện giật", Route.EMERGENCY_115, "chứng nhận thương tật do tai nạn điện"),
    ("cấp cứu", Route.EMERGENCY_115, "giấy chứng nhận cấp cứu"),
    (
        "gọi xe cấp cứu",
        Route.EMERGENCY_115,
        "xe cấp cứu của bệnh viện tư có được BHYT trả không",
    ),
    (
        "cần xe cấp cứu",
        Route.EMERGENCY_115,
        "thủ tục cấp cứu ở bệnh viện tuyến trên được bảo hiểm y tế thanh toán không",
    ),
    ("alo, cấp cứu ạ", Route.EMERGENCY_115, "gọi xe cấp cứu có mất phí không"),
    ("tôi bị đánh", Route.EMERGENCY_113, "tôi bị đánh giá sai"),
    ("chồng tôi đang đánh tôi", Route.EMERGENCY_113, "đánh thuế"),
    ("có người bị đâm", Route.EMERGENCY_113, "chứng nhận thiết bị đảm bảo hoạt động bay"),
    ("khí gas bị rò rỉ", Route.EMERGENCY_114, "đăng ký kinh doanh khí gas"),
    ("bình gas nhà tôi bị xì", Route.EMERGENCY_114, "đăng ký kinh doanh cửa hàng gas"),
    ("gas bị rò rỉ", Route.EMERGENCY_114, "giấy phép kinh doanh khí"),
    # A cry that names no danger goes to the police (see routing._decide).
    ("cứu tôi với", Route.EMERGENCY_113, "tra cứu hồ sơ với mã số"),
    ("Cứu với", Route.EMERGENCY_113, "nghiên cứu với đối tác nước ngoài cần giấy phép gì"),
    (
        "cứu em với",
        Route.EMERGENCY_113,
        "đang bị truy cứu trách nhiệm hình sự có được xuất cảnh không",
    ),
]


@pytest.mark.parametrize(("distress", "route", "question"), DISTRESS_AND_QUESTION)
@pytest.mark.parametrize("folded", [False, True])
def test_distress_told_now_is_an_emergency_and_its_words_in_a_question_are_not(
    distress: str, route: Route, question: str, folded: bool
) -> None:
    def read(message: str) -> str:
        return fold_accents(message) if folded else message

    assert classify_route(read(distress)).route is route
    assert classify_route(read(question)).route is Route.PROCEDURE


@pytest.mark.parametrize(
    ("message", "route"),
    [
        # Chat spellings: "ng" is "người", "e" "em", "t" "tôi", "vs" "với".
        ("co ng bi tai nan", Route.EMERGENCY_115),
        ("cuu e vs", Route.EMERGENCY_113),
        ("t bi danh", Route.EMERGENCY_113),
        # A few words naming a danger are the alarm itself; "cứu" alone only with diacritics.
        ("cướp!", Route.EMERGENCY_113),
        ("trộm!!", Route.EMERGENCY_113),
        ("cứu!", Route.EMERGENCY_113),
        ("SOS", Route.EMERGENCY_113),
        ("cap cuu", Route.EMERGENCY_115),
        # Folded, "dang kiem" is "đăng kiểm" (inspection), not "đang" (now).
        ("lich dang kiem xe cuu thuong", Route.PROCEDURE),
    ],
)
def test_kinds_of_distress_a_reviewer_sent(message: str, route: Route) -> None:
    assert classify_route(message).route is route


CATALOGUE_NAMES_AND_DANGERS = [
    # (a procedure's name whose words, or whose folded letters, hold a danger cue; a message
    # with the same cue that is an emergency)
    (
        "Báo cáo mất, cháy, hỏng tem điện tử thuốc lá nhập khẩu",
        "nhà bên cạnh đang cháy to lắm",
        Route.EMERGENCY_114,
    ),
    (
        "Miễn, giảm trong các trường hợp bất khả kháng, thiên tai, hỏa hoạn, tai nạn bất ngờ",
        "hỏa hoạn ở chợ, cứu với",
        Route.EMERGENCY_114,
    ),
    (
        "Giảm thuế thu nhập cá nhân đối với cá nhân gặp khó khăn do thiên tai, hoả hoạn, do bị "
        "tai nạn",
        "có người bị tai nạn, gấp lắm",
        Route.EMERGENCY_115,
    ),
    (
        "Tàu biển đang đóng hoặc sửa chữa, hoán cải chạy thử",
        "xưởng gỗ đang cháy",
        Route.EMERGENCY_114,
    ),
    (
        "Phê duyệt phương án khai thác động vật rừng thông thường từ tự nhiên",
        "có người định tự tử trên cầu",
        Route.EMERGENCY_115,
    ),
    (
        "Chấp thuận hoạt động vui chơi, giải trí dưới nước tại vùng nước trên tuyến đường thủy",
        "có đứa bé bị đuối nước ở sông",
        Route.EMERGENCY_114,
    ),
    (
        "Đến cảng biển đối với tàu thuyền nước ngoài thực hiện cứu hộ, trục vớt tài sản chìm đắm",
        "thuyền bị chìm, có người kẹt dưới nước, cứu hộ gấp",
        Route.EMERGENCY_114,
    ),
]


@pytest.mark.parametrize(("name", "danger", "route"), CATALOGUE_NAMES_AND_DANGERS)
@pytest.mark.parametrize("folded", [False, True])
def test_a_procedure_name_is_no_emergency_and_its_danger_told_now_is(
    name: str, danger: str, route: Route, folded: bool
) -> None:
    def read(message: str) -> str:
        return fold_accents(message) if folded else message

    assert classify_route(read(name)).route is Route.PROCEDURE
    assert classify_route(read(danger)).route is route


def test_money_with_a_procedure_is_no_extortion_when_typed_without_diacritics() -> None:
    folded = "Khai thue thu nhap ca nhan cua to chuc tra thu nhap khau tru thue doi voi tien luong"
    assert classify_route(folded).route is Route.PROCEDURE
    assert classify_route("cán bộ phường vòi tiền tôi").route is Route.COMPLAINT


@pytest.mark.parametrize(
    "message",
    [
        # What an ambulance costs is asked about, not called for.
        "gọi xe cấp cứu có mất tiền không",
        "goi xe cap cuu co mat tien ko",
        "gọi xe cấp cứu hết bao nhiêu tiền",
        "gọi cấp cứu 115 có tốn phí không",
        # A cry of exasperation before a question about a procedure.
        "cứu tôi với, làm lại căn cước mất bao lâu vậy",
        "cứu em với, hồ sơ nộp 2 tuần chưa có kết quả",
        # Folded, an alias ("bí danh") has the letters of a beating ("bị đánh").
        "co duoc ghi bi danh tren cccd khong",
        # Rewards for a rescuer, benefits after an illness or a fire, a death to report.
        "thủ tục khen thưởng người cứu bạn bị đuối nước",
        "cứu giúp người bị nạn được khen thưởng thế nào",
        "bố tôi bị đột quỵ đang nằm viện, xin trợ cấp ốm đau thế nào",
        "hỗ trợ người bị hỏa hoạn",
        "cháy rừng bồi thường thế nào",
        "nguoi than bi chet duoi nuoc lam giay bao tu the nao",
        # Goods and licences typed as keywords.
        "bán khí gas",
        "súng săn",
    ],
)
def test_kinds_of_question_a_second_reviewer_sent_stay_procedures(message: str) -> None:
    assert classify_route(message).route is Route.PROCEDURE


@pytest.mark.parametrize(
    ("message", "route"),
    [
        ("toi bi danh", Route.EMERGENCY_113),
        ("cứu tôi với", Route.EMERGENCY_113),
        ("gọi xe cấp cứu gấp", Route.EMERGENCY_115),
        ("xe cứu thương", Route.EMERGENCY_115),
    ],
)
def test_their_emergency_twins_stay_emergencies(message: str, route: Route) -> None:
    assert classify_route(message).route is route


@pytest.mark.parametrize(
    ("message", "route"),
    [
        # The fifth set.
        (
            "thang máy chung cư kẹt giữa tầng, hai người ở trong gần 30 phút rồi",
            Route.EMERGENCY_114,
        ),
        ("thang may ket giua tang, 2 nguoi o trong gan 30p r ko ai mo dc", Route.EMERGENCY_114),
        ("cây xanh trước cổng trường bị bão làm nghiêng, sắp đổ ra đường", Route.INCIDENT_REPORT),
        ("mai o Ha Noi troi co mua khong ban", Route.OUT_OF_DOMAIN),
        # Folded, "ra khỏi" is "ra khoi" (smoke, "khói"), "để chạy xe" "de chay xe" (a fire).
        ("muon lam don ra khoi dien ho can ngheo ngay giua nam", Route.PROCEDURE),
        ("muon doi bang lai quan doi sang bang thuong de chay xe dich vu", Route.PROCEDURE),
        ("nha ben canh boc khoi den, chay lan sang nha toi roi", Route.EMERGENCY_114),
        # The sixth set.
        (
            "Co dua nho bi ket tay trong lan can sat o tang ba, ca nha go mai khong ra",
            Route.EMERGENCY_114,
        ),
        (
            "con toi 2 tuoi vua uong nham nuoc tay bon cau, dang non oi, phai lam sao",
            Route.EMERGENCY_115,
        ),
        (
            "Đường đầu ngõ bị sụt một cái hố to, tối qua có người đi xe máy sập xuống, báo ai sửa?",
            Route.INCIDENT_REPORT,
        ),
        (
            "den duong ven song bi hong ca thang nay toi om, phan anh o dau de sua",
            Route.INCIDENT_REPORT,
        ),
        ("ad oi mai ha noi co mua ko", Route.OUT_OF_DOMAIN),
        ("Cho tôi hỏi tỷ giá đô la hôm nay mua vào bán ra bao nhiêu?", Route.OUT_OF_DOMAIN),
        # Folded, "k chạy" (does not run) reads "k chay", "tập kết đầu chợ" "tap ket dau".
        (
            "xe oto nha e hong nam gara hon 1 thang k chay, tam dung phi duong bo duoc ko",
            Route.PROCEDURE,
        ),
        (
            "rac o diem tap ket dau cho 3 ngay chua ai thu gom, boc mui qua troi",
            Route.INCIDENT_REPORT,
        ),
        # Folded, "tôi qua" is no "tối qua": the fire is now.
        ("nha toi qua nha ben canh thay dang chay lon, khoi den kin troi", Route.EMERGENCY_114),
        # The seventh set.
        (
            "Tổ chức cứu hộ quốc tế của chúng tôi muốn đưa đội cứu nạn vào Việt Nam hỗ trợ tìm "
            "người mất tích sau bão thì gửi đề nghị cấp phép tới cơ quan nào?",
            Route.PROCEDURE,
        ),
        (
            "nộp hồ sơ xin giấy phép xây dựng ở một cửa phường quá hẹn hai tuần mà không ai trả "
            "lời, tôi muốn phản ánh việc chậm trễ này",
            Route.COMPLAINT,
        ),
        (
            "can bo mot cua doi dua them tien moi chiu nhan ho so, toi muon phan anh",
            Route.COMPLAINT,
        ),
        (
            "cot dien dau hem bi nghieng, day dien vong sat dau nguoi, bao dien luc giup",
            Route.INCIDENT_REPORT,
        ),
        # The rescue itself, now, is still an emergency.
        ("cứu hộ ơi nhà tôi bị lũ cuốn, cả nhà đang mắc kẹt trên mái", Route.EMERGENCY_114),
        # The eighth set.
        (
            "Tôi nộp hồ sơ ở trung tâm hành chính công phường đã quá ngày hẹn hai tuần mà chưa có "
            "kết quả, cán bộ cũng không giải thích. Tôi muốn phản ánh việc này.",
            Route.COMPLAINT,
        ),
        (
            "Cho hoi nau pho bo o nha thi can nhung gia vi gi cho nuoc dung ngon?",
            Route.OUT_OF_DOMAIN,
        ),
        # Spices as goods to declare stay a procedure question.
        (
            "nhập khẩu gia vị từ Ấn Độ thì cần kiểm dịch thực vật không, hồ sơ gồm gì",
            Route.PROCEDURE,
        ),
        # The ninth set: folded, thieves running off ("chạy về", "chạy theo") are no fire; a
        # fire spreading ("cháy về phía") still is, with its diacritics.
        (
            "vua bi giat dien thoai o cho, thang do dang chay ve phia cau, bao cong an giup",
            Route.EMERGENCY_113,
        ),
        ("xe máy bị trộm, tôi đang chạy theo tụi nó, gọi công an gấp", Route.EMERGENCY_113),
        ("lửa đang cháy về phía nhà tôi, cứu với", Route.EMERGENCY_114),
        ("chay nha roi, cuu voi", Route.EMERGENCY_114),
        (
            "cong ty con do tap doan nha nuoc so huu toan bo von dang hoat dong, chuyen sang "
            "cong ty trach nhiem huu han mot thanh vien the nao",
            Route.PROCEDURE,
        ),
        ("co may thang con do dang danh nhau truoc cong nha toi, goi cong an", Route.EMERGENCY_113),
    ],
)
def test_kinds_of_message_seen_in_the_fifth_to_ninth_question_sets(
    message: str, route: Route
) -> None:
    assert classify_route(message).route is route
