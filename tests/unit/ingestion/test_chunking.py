"""What the chunker copies from a procedure onto every chunk it makes."""

from __future__ import annotations

from ingestion.chunking import chunk_procedure
from ingestion.models import Procedure, ProcedureStep


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
