import pytest

from answer_service.routing import Route, classify_route


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
