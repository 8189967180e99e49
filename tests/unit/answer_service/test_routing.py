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
    ],
)
def test_short_emergencies_without_an_urgency_word(message: str, route: Route) -> None:
    assert classify_route(message).route is route
