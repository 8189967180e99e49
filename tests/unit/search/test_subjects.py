"""Who a procedure is for and who a question speaks for (``search.text.subjects``)."""

from __future__ import annotations

import pytest

from search.text.subjects import (
    for_foreigners_only,
    for_organisations_only,
    speaks_for_organisation,
    speaks_of_abroad,
)


@pytest.mark.parametrize(
    ("subjects", "expected"),
    [
        (["Doanh nghiệp"], True),
        (["Tổ chức (không bao gồm doanh nghiệp, HTX)", "Hợp tác xã"], True),
        (["Tổ chức nước ngoài", "Doanh nghiệp có vốn đầu tư nước ngoài"], True),
        (["Công dân Việt Nam"], False),
        (["Doanh nghiệp", "Công dân Việt Nam"], False),
        (["Người Việt Nam định cư ở nước ngoài"], False),
        (["Cán bộ", "công chức", "viên chức"], True),  # officials act for their agency
        (["Đảng viên", "Tổ chức Đảng"], True),
        (["Cán bộ", "công chức", "viên chức", "Công dân Việt Nam"], False),
        (["Hộ gia đình"], False),
        ([], False),  # not listed: nothing is known, nothing is taken off
        (["  ", ""], False),
    ],
)
def test_which_procedures_are_for_organisations_only(subjects: list[str], expected: bool) -> None:
    assert for_organisations_only(subjects) is expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("bằng lái của tôi sắp hết hạn, đổi ở đâu", False),
        ("Công ty tôi muốn xin giấy phép vận chuyển pháo hoa", True),
        ("htx chúng tôi cần đăng ký thay đổi", True),
        ("cong ty toi muon xin giay phep", True),
        ("Trung tâm đào tạo lái xe của tôi bị mất giấy phép", True),
        ("chua co so do thi lam sao", False),  # "co so" is "có sổ" here
        ("toi la truong thon", False),  # "truong" is "trưởng"
        ("cơ sở sản xuất của tôi", True),
        ("tôi là công chức xã, muốn nâng ngạch", True),
        ("cong ty tôi muốn xin giấy phép", True),  # partly without diacritics
        ("co so dao tao lai xe xin cap lai giay phep", True),
        ("truong mam non xin cap phep hoat dong", True),
        ("nhà hàng của tôi cần giấy phép gì", True),
        ("công ty TNHH ABC đổi địa chỉ", True),
        # Bodies a citizen deals with, not speaks for.
        ("trong trường hợp bị mất thì sao", False),
        ("nộp ở cơ quan nào", False),
        ("con sinh ở bệnh viện huyện", False),
        ("đang vay ngân hàng thì giải chấp thế nào", False),
        ("cho tôi hỏi thủ tục khai sinh", False),  # "hỏi" folded is not "hội"
        ("", False),
    ],
)
def test_which_questions_speak_for_an_organisation(question: str, expected: bool) -> None:
    assert speaks_for_organisation(question) is expected


@pytest.mark.parametrize(
    ("subjects", "expected"),
    [
        (["Người nước ngoài"], True),
        (["Người nước ngoài", "Tổ chức nước ngoài"], True),
        (["Người Việt Nam định cư ở nước ngoài"], True),
        (["Người nước ngoài", "Công dân Việt Nam"], False),
        (["Doanh nghiệp"], False),
        ([], False),
    ],
)
def test_which_procedures_are_for_foreigners_only(subjects: list[str], expected: bool) -> None:
    assert for_foreigners_only(subjects) is expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("chồng tôi là Việt kiều muốn về nước sống", True),
        ("người nước ngoài gia hạn tạm trú ở đâu", True),
        ("nguoi nuoc ngoai gia han tam tru", True),
        ("con tôi không quốc tịch", True),
        ("cấp đổi căn cước ở đâu", False),
        ("gia han tam tru", False),
    ],
)
def test_which_questions_speak_of_abroad(question: str, expected: bool) -> None:
    assert speaks_of_abroad(question) is expected
