"""What the chunker copies from a procedure onto every chunk it makes."""

from __future__ import annotations

from ingestion.chunking import DENSE_SECTION_WORDS, chunk_procedure, dense_text
from ingestion.models import LegalBasis, Procedure, ProcedureStep
from search.models import Section


def test_every_chunk_of_a_procedure_says_who_it_is_for() -> None:
    procedure = Procedure(
        code="1.000001",
        name="Cấp giấy phép đào tạo lái xe ô tô",
        field="Đường bộ",
        subjects=["Doanh nghiệp", "Tổ chức (không bao gồm doanh nghiệp, HTX)"],
        steps=[ProcedureStep(order=1, text="Nộp hồ sơ tại Sở Xây dựng.")],
        results=["Giấy phép đào tạo lái xe ô tô"],
    )

    chunks = chunk_procedure(procedure)

    assert len(chunks) >= 2
    assert {tuple(c.subjects) for c in chunks} == {tuple(procedure.subjects)}
    overview = next(c for c in chunks if c.section.value == "overview")
    assert "Đối tượng: Doanh nghiệp, Tổ chức" in overview.text


def test_the_overview_and_the_first_chunk_of_situation_sections_are_embedded() -> None:
    long_steps = [ProcedureStep(order=n, text=f"Bước {n}: " + "nộp hồ sơ " * 60) for n in range(3)]
    procedure = Procedure(
        code="1.000002",
        name="Thủ tục đăng ký kết hôn lưu động",
        steps=long_steps,  # over MAX_CHUNK_WORDS: cut in parts
        conditions="Người yêu cầu bị bệnh, khuyết tật, không thể đi lại được.",
        results=["Giấy chứng nhận kết hôn"],
        legal_basis=[LegalBasis(title="Luật Hộ tịch", number="60/2014/QH13")],
    )

    embedded = {c.chunk_id.split("#", 1)[1] for c in chunk_procedure(procedure) if c.embed}

    assert "steps#1" in {c.chunk_id.split("#", 1)[1] for c in chunk_procedure(procedure)}
    assert embedded == {"overview#0", "steps#0", "conditions#0", "result#0"}


def test_a_section_is_embedded_with_the_name_before_its_first_words() -> None:
    procedure = Procedure(
        code="1.000003",
        name="Thủ tục đăng ký kết hôn lưu động",
        conditions=" ".join(f"từ{n}" for n in range(DENSE_SECTION_WORDS + 40)),
    )
    chunks = {c.section: c for c in chunk_procedure(procedure)}

    text = dense_text(chunks[Section.CONDITIONS])

    name, words = text.split("\n")
    assert name == procedure.name
    assert words.split() == [f"từ{n}" for n in range(DENSE_SECTION_WORDS)]
    assert dense_text(chunks[Section.OVERVIEW]) == chunks[Section.OVERVIEW].text
