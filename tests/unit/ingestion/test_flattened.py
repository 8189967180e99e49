"""Parsing the crawl's flattened table text back into structure."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest

from ingestion.models import SubmissionChannel, TimeUnit
from ingestion.parsers.flattened import (
    DOSSIER_HEADER,
    LEGAL_HEADER,
    METHODS_HEADER,
    Parsed,
    clean_block,
    is_placeholder,
    main,
    parse_dossier,
    parse_legal_basis,
    parse_results,
    parse_steps,
    parse_submission_methods,
)
from ingestion.settings import default_shared_data

SHARED_DATA = default_shared_data()
DUMP = SHARED_DATA / "procedures" / "dvcqg-procedures.jsonl.gz"
needs_dump = pytest.mark.skipif(
    not DUMP.exists(), reason=f"shared data not found beside the repository (expected {DUMP})"
)

ALL_PARSERS = (
    parse_submission_methods,
    parse_dossier,
    parse_legal_basis,
    parse_results,
    parse_steps,
)


class TestParseSubmissionMethods:
    def test_rows_of_channel_time_fee_note_and_description(self) -> None:
        text = (
            METHODS_HEADER
            + "Trực tiếp5 Ngày làm việc10,000 Việt Nam Đồng(Thu 10.000 đồng/lần;)"
            + "- Nộp tại Công an cấp xã. Trực tuyến qua Cổng dịch vụ công khi có."
            + "Trực tuyến3 Ngày làm việc5,000 Việt Nam Đồng(Thu 5.000 đồng/lần;)- Nộp qua VNeID."
        )

        parsed = parse_submission_methods(text)

        assert parsed.warnings == []
        direct, online = parsed.value
        assert direct.channel is SubmissionChannel.DIRECT
        assert direct.processing_time is not None
        assert (direct.processing_time.value, direct.processing_time.unit) == (
            5,
            TimeUnit.WORKING_DAY,
        )
        assert direct.processing_time.text == "5 Ngày làm việc"
        assert [(fee.amount, fee.currency) for fee in direct.fees] == [(10000, "VND")]
        assert direct.fees[0].description == "Thu 10.000 đồng/lần;"
        assert direct.fees[0].text == "10,000 Việt Nam Đồng"
        # "Trực tuyến qua Cổng…" inside the description is no new row.
        assert direct.description == (
            "- Nộp tại Công an cấp xã. Trực tuyến qua Cổng dịch vụ công khi có."
        )
        assert online.channel is SubmissionChannel.ONLINE
        assert online.fees[0].amount == 5000
        assert online.description == "- Nộp qua VNeID."

    def test_free_unknown_and_abbreviated_fees(self) -> None:
        text = (
            METHODS_HEADER
            + "Dịch vụ bưu chính7 NgàyMiễn phíGửi qua bưu điện."
            + "Trực tiếp7 NgàyKhông có thông tinKhông có thông tin"
            + "Trực tuyến2 Giờ70,000 VNĐ"
            + "Trực tiếp1 Tháng10 USD(/lần)"
        )

        postal, direct, online, direct_usd = parse_submission_methods(text).value

        assert postal.channel is SubmissionChannel.POSTAL
        assert [(fee.amount, fee.text) for fee in postal.fees] == [(0, "Miễn phí")]
        assert postal.description == "Gửi qua bưu điện."
        assert direct.fees == []  # "Không có thông tin": no fee known
        assert direct.description == ""
        assert online.processing_time is not None
        assert online.processing_time.unit is TimeUnit.HOUR
        assert online.fees[0].amount == 70000
        assert direct_usd.processing_time is not None
        assert direct_usd.processing_time.unit is TimeUnit.MONTH
        assert [(fee.amount, fee.currency, fee.description) for fee in direct_usd.fees] == [
            (10, "USD", "/lần")
        ]

    def test_time_without_unit_or_number(self) -> None:
        text = (
            METHODS_HEADER
            + "Trực tuyến1Miễn phí"
            + "Trực tiếpKhông có thông tinMiễn phíNộp tại trụ sở."
            + "Dịch vụ bưu chính1.5 Ngày làm việcMiễn phí"
            + "Trực tuyếnKhông phải trả kết quả cho người nộp thuếMiễn phí"
        )

        bare, unknown, decimal, text_only = parse_submission_methods(text).value

        assert bare.processing_time is not None
        assert (bare.processing_time.value, bare.processing_time.unit) == (1, TimeUnit.UNKNOWN)
        assert unknown.processing_time is None
        assert unknown.description == "Nộp tại trụ sở."
        assert decimal.processing_time is not None
        assert decimal.processing_time.value == 1.5
        assert text_only.processing_time is not None
        assert text_only.processing_time.value is None
        assert text_only.processing_time.text == "Không phải trả kết quả cho người nộp thuế"

    def test_bare_time_glued_to_an_amount_is_split(self) -> None:
        parsed = parse_submission_methods(METHODS_HEADER + "Trực tuyến140,000 VNĐ(40.000 đ/lần)")

        (method,) = parsed.value
        assert parsed.warnings == []
        assert method.processing_time is not None
        assert method.processing_time.value == 1
        assert method.fees[0].amount == 40000

    def test_ambiguous_glued_time_and_amount_is_reported(self) -> None:
        parsed = parse_submission_methods(METHODS_HEADER + "Trực tiếp125 VNĐ")

        (method,) = parsed.value
        assert method.processing_time is not None
        assert method.processing_time.value == 1
        assert method.fees[0].amount == 25
        assert len(parsed.warnings) == 1
        assert "ambiguous" in parsed.warnings[0]

    def test_fee_note_with_nested_parentheses(self) -> None:
        note = "Lệ phí: 50.000 đồng/lần (theo Thông tư số 01/2026/TT-BTC (bản sửa đổi)); giảm 50%"
        text = METHODS_HEADER + f"Trực tiếp5 Ngày50,000 VNĐ({note})(1) Nộp hồ sơ tại Sở."

        parsed = parse_submission_methods(text)

        (method,) = parsed.value
        assert parsed.warnings == []
        assert method.fees[0].description == note
        assert method.description == "(1) Nộp hồ sơ tại Sở."

    def test_unclosed_fee_note_ends_at_the_last_parenthesis(self) -> None:
        text = METHODS_HEADER + "Trực tiếp7 Ngày400,000 VNĐ(đ/lần (Miễn phí đến 30/6)7 ngày."

        parsed = parse_submission_methods(text)

        (method,) = parsed.value
        assert method.fees[0].description == "đ/lần (Miễn phí đến 30/6"
        assert method.description == "7 ngày."
        assert any("unclosed parenthesis" in warning for warning in parsed.warnings)

    def test_multi_line_description_keeps_its_lines(self) -> None:
        text = METHODS_HEADER + "Trực tiếp3 NgàyMiễn phí- Bước một;\n  - Bước   hai.\n"

        (method,) = parse_submission_methods(text).value

        assert method.description == "- Bước một;\n- Bước hai."

    @pytest.mark.parametrize("text", ["", "  ", "Không có thông tin", METHODS_HEADER])
    def test_empty_sections_give_nothing_and_no_warning(self, text: str) -> None:
        assert parse_submission_methods(text) == Parsed([], [])

    def test_text_that_is_no_table_is_reported(self) -> None:
        parsed = parse_submission_methods("Nộp hồ sơ tại Ủy ban nhân dân cấp xã")

        assert parsed.value == []
        assert any("header missing" in warning for warning in parsed.warnings)
        assert any("no row found" in warning for warning in parsed.warnings)

    def test_text_before_the_first_row_is_reported(self) -> None:
        parsed = parse_submission_methods(METHODS_HEADER + "Ghi chú chungTrực tiếp2 NgàyMiễn phí")

        assert len(parsed.value) == 1
        assert any("before first row" in warning for warning in parsed.warnings)


class TestParseDossier:
    def test_groups_counts_and_forms(self) -> None:
        text = (
            "* Giấy tờ phải nộp:"
            + DOSSIER_HEADER
            + "Tờ khai thay đổi thông tin cư trú (Mẫu CT01)Mẫu CT01.docx1 bản chính"
            + "Giấy tờ chứng minh chỗ ở hợp pháp0 bản chính,1 bản sao"
            + "Giấy khai sinh1 bản chính,2 bản sao"
            + "* Giấy tờ phải xuất trình:"
            + DOSSIER_HEADER
            + "Thẻ căn cước1 bản chính"
        )

        parsed = parse_dossier(text)

        assert parsed.warnings == []
        rows = [(c.name, c.form, c.original_count, c.copy_count, c.group) for c in parsed.value]
        assert rows == [
            (
                "Tờ khai thay đổi thông tin cư trú (Mẫu CT01)",
                "Mẫu CT01.docx",
                1,
                0,
                "Giấy tờ phải nộp",
            ),
            ("Giấy tờ chứng minh chỗ ở hợp pháp", "", 0, 1, "Giấy tờ phải nộp"),
            ("Giấy khai sinh", "", 1, 2, "Giấy tờ phải nộp"),
            ("Thẻ căn cước", "", 1, 0, "Giấy tờ phải xuất trình"),
        ]

    def test_untitled_tables_have_no_group(self) -> None:
        text = "--" + DOSSIER_HEADER + "Đơn đề nghị1 bản chính----"

        (component,) = parse_dossier(text).value

        assert component.group == ""
        assert component.name == "Đơn đề nghị"

    def test_digits_glued_before_the_count_belong_to_the_name(self) -> None:
        text = "--" + DOSSIER_HEADER + "Đơn theo Mẫu số 181 bản chính,1 bản sao"

        (component,) = parse_dossier(text).value

        assert component.name == "Đơn theo Mẫu số 18"
        assert (component.original_count, component.copy_count) == (1, 1)

    def test_counts_in_running_text_do_not_split_rows(self) -> None:
        text = (
            "--"
            + DOSSIER_HEADER
            + "+ Hóa đơn thương mại: nộp 01 bản chính; bản sao nếu có0 bản chính"
            + "+ Tờ khai hải quan: 02 bản chính0 bản chính"
            + "+ Văn bản đề nghị (01 bản chính)1 bản chính"
        )

        parsed = parse_dossier(text)

        assert parsed.warnings == []
        assert [(c.name, c.original_count) for c in parsed.value] == [
            ("Hóa đơn thương mại: nộp 01 bản chính; bản sao nếu có", 0),
            ("Tờ khai hải quan: 02 bản chính", 0),
            ("Văn bản đề nghị (01 bản chính)", 1),
        ]

    def test_several_forms_after_one_name(self) -> None:
        text = (
            "--"
            + DOSSIER_HEADER
            + "Hồ sơ đề nghị khen thưởng.Mẫu 1.1 Tờ trình.docxMẫu 1.2 Biên bản.docx1 bản chính"
            + "Báo cáo của Chính phủMẫu số 09.pdf1 bản chính"
        )

        first, second = parse_dossier(text).value

        assert first.name == "Hồ sơ đề nghị khen thưởng."
        assert first.form == "Mẫu 1.1 Tờ trình.docx; Mẫu 1.2 Biên bản.docx"
        assert (second.name, second.form) == ("Báo cáo của Chính phủ", "Mẫu số 09.pdf")

    def test_empty_rows_of_the_table_are_dropped(self) -> None:
        text = "--" + DOSSIER_HEADER + "Đơn đề nghị1 bản chính1 bản chính1 bản chính"

        parsed = parse_dossier(text)

        assert [c.name for c in parsed.value] == ["Đơn đề nghị"]
        assert parsed.warnings == []

    def test_text_after_the_last_count_is_kept_and_reported(self) -> None:
        text = "--" + DOSSIER_HEADER + "Đơn đề nghị1 bản chính(Không cần bản sao nếu đã có)"

        parsed = parse_dossier(text)

        assert [c.name for c in parsed.value] == [
            "Đơn đề nghị",
            "(Không cần bản sao nếu đã có)",
        ]
        assert parsed.value[1].original_count is None
        assert any("without a count" in warning for warning in parsed.warnings)

    def test_text_without_a_table_is_reported(self) -> None:
        parsed = parse_dossier("); nộp hồ sơ cho cơ quan bảo hiểm xã hội.\nBước 2. Tiếp nhận.")

        assert parsed.value == []
        assert any("no table" in warning for warning in parsed.warnings)

    @pytest.mark.parametrize("text", ["", "--", "----", "Không có thông tin"])
    def test_empty_sections(self, text: str) -> None:
        assert parse_dossier(text) == Parsed([], [])


class TestParseLegalBasis:
    def test_titles_with_numbers_and_glued_rows(self) -> None:
        text = (
            LEGAL_HEADER
            + "Thông tư số 54/2025/TT-BCA ngày 01/7/2025 quy định về đăng ký cư trú.54/2025/TT-BCA"
            + "Thông tư 56/2021/TT-BCA56/2021/TT-BCA"
            + "Luật Cư trú 202068/2020/QH14"
            + "Nghị quyết số 66.7/2025/NQ-CP về cắt giảm thủ tục66.7/2025/NQ-CP"
            + "QUY ĐỊNH MỨC THU LỆ PHÍ05/2012/NĐ-CPQUY ĐỊNH CHI TIẾT LUẬT123/2015/NĐ-CP"
            + "Luật Khiếu nại02/2011/QH13"
        )

        parsed = parse_legal_basis(text)

        assert parsed.warnings == []
        assert [(basis.title, basis.number) for basis in parsed.value] == [
            (
                "Thông tư số 54/2025/TT-BCA ngày 01/7/2025 quy định về đăng ký cư trú.",
                "54/2025/TT-BCA",
            ),
            ("Thông tư 56/2021/TT-BCA", "56/2021/TT-BCA"),
            ("Luật Cư trú 2020", "68/2020/QH14"),
            ("Nghị quyết số 66.7/2025/NQ-CP về cắt giảm thủ tục", "66.7/2025/NQ-CP"),
            ("QUY ĐỊNH MỨC THU LỆ PHÍ", "05/2012/NĐ-CP"),
            ("QUY ĐỊNH CHI TIẾT LUẬT", "123/2015/NĐ-CP"),
            ("Luật Khiếu nại", "02/2011/QH13"),
        ]

    def test_next_title_glued_to_an_issuer(self) -> None:
        text = (
            LEGAL_HEADER
            + "Thông tư quy định về thẻ căn cước68/2013/TT-BCAThông tư hướng dẫn biểu mẫu"
            + "57/2021/TT-BCAquy định chi tiết Luật06/2016/QĐ-TTgGiấy tờ khác11/2026/TT-NHNN"
        )

        parsed = parse_legal_basis(text)

        assert parsed.warnings == []
        assert [basis.number for basis in parsed.value] == [
            "68/2013/TT-BCA",
            "57/2021/TT-BCA",
            "06/2016/QĐ-TTg",
            "11/2026/TT-NHNN",
        ]
        assert parsed.value[1].title == "Thông tư hướng dẫn biểu mẫu"
        assert parsed.value[2].title == "quy định chi tiết Luật"

    def test_unknown_issuer_gives_back_the_capital_of_the_next_title(self) -> None:
        text = LEGAL_HEADER + "Quy chế thử01/2026/QĐ-XYZThông tư khác02/2026/TT-XYZquy định"

        parsed = parse_legal_basis(text)

        assert [(basis.title, basis.number) for basis in parsed.value][:2] == [
            ("Quy chế thử", "01/2026/QĐ-XYZ"),
            ("Thông tư khác", "02/2026/TT-XYZ"),
        ]

    def test_number_cell_prefix_is_not_part_of_the_title(self) -> None:
        text = LEGAL_HEADER + "Luật Các tổ chức tín dụngLuật số 32/2024/QH15Luật29/2001/QH10"

        parsed = parse_legal_basis(text)

        assert [(basis.title, basis.number) for basis in parsed.value] == [
            ("Luật Các tổ chức tín dụng", "32/2024/QH15"),
            ("Luật", "29/2001/QH10"),
        ]

    def test_a_number_quoted_in_the_title_before_the_row_number(self) -> None:
        text = LEGAL_HEADER + "sửa đổi một số điều của Thông tư số 17/2015/TT-NHNN18/2026/TT-NHNN"

        (basis,) = parse_legal_basis(text).value

        assert basis.number == "18/2026/TT-NHNN"
        assert basis.title == "sửa đổi một số điều của Thông tư số 17/2015/TT-NHNN"

    def test_title_without_number_is_kept_and_reported(self) -> None:
        text = LEGAL_HEADER + "Luật Đất đai31/2024/QH15Quyết định của Bộ trưởng (chưa có số)"

        parsed = parse_legal_basis(text)

        assert [basis.number for basis in parsed.value] == ["31/2024/QH15", ""]
        assert any("without a document number" in warning for warning in parsed.warnings)

    def test_placeholder(self) -> None:
        assert parse_legal_basis("Không có thông tin") == Parsed([], [])


class TestParseResults:
    def test_results_with_codes_and_trailing_page_junk(self) -> None:
        text = (
            "Cập nhật thông tin trong Cơ sở dữ liệu về cư trúMã: KQ.G01.000066"
            "- Phiếu từ chối tiếp nhận hồ sơMã: 000.00.00.G04-KQ0608"
            "Văn bản tố tụngMã: VBTT"
            "Từ khóaKhông có thông tinMô tảKhông có thông tin"
            "Chọn cơ quan thực hiệnTỉnh/ Thành phốBộ ngành-- Chọn Tỉnh/ Thành phố --Nộp hồ sơ"
        )

        parsed = parse_results(text)

        assert parsed.warnings == []
        assert parsed.value == [
            "Cập nhật thông tin trong Cơ sở dữ liệu về cư trú",
            "Phiếu từ chối tiếp nhận hồ sơ",
            "Văn bản tố tụng",
        ]

    def test_text_without_a_result_code_is_kept_and_reported(self) -> None:
        parsed = parse_results("Giấy phép hoạt độngTừ khóaKhông có thông tin")

        assert parsed.value == ["Giấy phép hoạt động"]
        assert any("without a result code" in warning for warning in parsed.warnings)

    def test_empty(self) -> None:
        assert parse_results("") == Parsed([], [])


class TestParseSteps:
    def test_buoc_lines(self) -> None:
        text = (
            "Bước 1: Chuẩn bị hồ sơ.\n Bước 2: Nộp hồ sơ tại Công an cấp xã.\n"
            "- Trường hợp hồ sơ đầy đủ thì cấp phiếu hẹn.\n- Bước 3: Nhận kết quả."
        )

        parsed = parse_steps(text)

        assert parsed.warnings == []
        assert [(step.order, step.text) for step in parsed.value] == [
            (1, "Chuẩn bị hồ sơ."),
            (2, "Nộp hồ sơ tại Công an cấp xã.\n- Trường hợp hồ sơ đầy đủ thì cấp phiếu hẹn."),
            (3, "Nhận kết quả."),
        ]

    def test_step_one_written_without_its_marker(self) -> None:
        text = "Tổ chức chuẩn bị hồ sơ.\nBước 2: Nộp hồ sơ.\nBước 3: Nhận kết quả."

        parsed = parse_steps(text)

        assert parsed.warnings == []
        assert [step.text for step in parsed.value] == [
            "Tổ chức chuẩn bị hồ sơ.",
            "Nộp hồ sơ.",
            "Nhận kết quả.",
        ]

    def test_inline_markers(self) -> None:
        steps = parse_steps("Bước 1: Nộp hồ sơ. Bước 2: Nhận kết quả.").value

        assert [step.text for step in steps] == ["Nộp hồ sơ.", "Nhận kết quả."]

    def test_numbered_lines_then_bullets_then_one_step(self) -> None:
        numbered = parse_steps("1. Nộp hồ sơ.\n2. Thẩm định.\n3. Trả kết quả.").value
        bullets = parse_steps("- Nộp hồ sơ.\n- Trả kết quả.").value
        single = parse_steps("Nộp hồ sơ và nhận kết quả tại Bộ phận Một cửa.").value

        assert [step.text for step in numbered] == ["Nộp hồ sơ.", "Thẩm định.", "Trả kết quả."]
        assert [step.text for step in bullets] == ["Nộp hồ sơ.", "Trả kết quả."]
        assert [(step.order, step.text) for step in single] == [
            (1, "Nộp hồ sơ và nhận kết quả tại Bộ phận Một cửa.")
        ]

    def test_restarting_cases_are_fine_but_skips_are_reported(self) -> None:
        restarted = parse_steps("Bước 1: A.\nBước 2: B.\nBước 1: C.\nBước 2: D.")
        skipped = parse_steps("Bước 1: A.\nBước 2: B.\nBước 5: C.")

        assert restarted.warnings == []
        assert len(restarted.value) == 4
        assert len(skipped.value) == 3
        assert any("out of order" in warning for warning in skipped.warnings)


class TestRobustness:
    @pytest.mark.parametrize("parse", ALL_PARSERS)
    @pytest.mark.parametrize(
        "text",
        [
            "((((((",
            ")))Trực tiếp",
            "Trực tiếp",
            "Trực tiếp9" * 50,
            "1 bản chính" * 5,
            "Mã: Mã: Mã:",
            "\x00\x01\ufffd" * 10,
            "Tên giấy tờMẫu đơn, tờ khaiSố lượngTên giấy tờMẫu đơn, tờ khaiSố lượng",
            "Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến999999999999999999 VNĐ(",
            "Tên văn bản pháp lýMã văn bản1/2020/" + "A-" * 200,
        ],
    )
    def test_odd_text_never_raises(self, parse: Any, text: str) -> None:
        result = parse(text)

        assert isinstance(result, Parsed)
        assert isinstance(result.value, list)

    @pytest.mark.parametrize("parse", ALL_PARSERS)
    def test_none_is_empty_and_other_types_are_reported(self, parse: Any) -> None:
        assert parse(None) == Parsed([], [])
        wrong = parse(["Trực tiếp"])
        assert wrong.value == []
        assert wrong.warnings == ["expected text, got list"]

    @pytest.mark.parametrize("parse", ALL_PARSERS)
    def test_long_digit_runs_stay_fast(self, parse: Any) -> None:
        started = time.perf_counter()

        parse("Trực tiếp" + "1" * 20_000 + " VNĐ")
        parse("1/" * 10_000)

        assert time.perf_counter() - started < 2

    def test_decomposed_accents_are_composed_first(self) -> None:
        decomposed = "Đơn đề nghị của Chi\u0301nh phu\u0309Mẫu 01.docx1 bản chính"

        (component,) = parse_dossier("--" + DOSSIER_HEADER + decomposed).value

        assert component.name == "Đơn đề nghị của Chính phủ"
        assert component.form == "Mẫu 01.docx"


def test_placeholders_and_block_cleaning() -> None:
    assert is_placeholder(" Không có thông tin ")
    assert is_placeholder("----")
    assert not is_placeholder("Không thu phí")
    assert clean_block("  a   b \n\n\t c  ") == "a b\nc"


def test_entry_point_needs_one_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


@needs_dump
@pytest.mark.slow
def test_real_dump_sections_parse_completely() -> None:
    """Each section of the 2,642 crawled procedures parses without warnings in ≥95% of records."""
    with gzip.open(DUMP, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    assert len(records) == 2642

    minimum = {
        "cach_thuc_thuc_hien": (parse_submission_methods, 0.97),
        "thanh_phan_ho_so": (parse_dossier, 0.97),
        "can_cu_phap_ly": (parse_legal_basis, 0.95),
        "ket_qua_xu_ly": (parse_results, 0.98),
        "trinh_tu_thuc_hien": (parse_steps, 0.95),
    }
    for key, (parse, share) in minimum.items():
        results = [parse(record[key]) for record in records]
        complete = sum(result.complete for result in results)
        assert complete / len(records) >= share, f"{key}: {complete} of {len(records)} complete"

    # Every procedure offers at least one channel, and nearly all have a dossier.
    methods = [parse_submission_methods(record["cach_thuc_thuc_hien"]) for record in records]
    assert sum(bool(result.value) for result in methods) / len(records) >= 0.99
    dossiers = [parse_dossier(record["thanh_phan_ho_so"]) for record in records]
    assert sum(bool(result.value) for result in dossiers) / len(records) >= 0.97
