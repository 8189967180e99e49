"""What the index stores and returns.

Glossary: a *document* is one knowledge item (a procedure, a policy document, a curated answer)
identified by ``doc_id``; a *chunk* is one section of a document, the unit that is indexed and
cited; a *point* is a chunk with its vectors, as Qdrant stores it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class Section(str, Enum):
    """The part of a document a chunk comes from, so an answer can cite it."""

    OVERVIEW = "overview"  # name, field, level, agencies, subjects
    STEPS = "steps"  # trình tự thực hiện
    METHODS = "methods"  # cách thức thực hiện: channels, time, fees
    DOSSIER = "dossier"  # thành phần hồ sơ
    CONDITIONS = "conditions"  # yêu cầu, điều kiện
    RESULT = "result"  # kết quả
    LEGAL_BASIS = "legal_basis"  # căn cứ pháp lý
    AGENCIES = "agencies"  # cơ quan thực hiện, địa chỉ tiếp nhận
    BODY = "body"  # a policy document's text
    ANSWER = "answer"  # a curated answer

    @classmethod
    def from_str(cls, value: str) -> Section:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown section {value!r}; allowed: {allowed}") from None


DENSE_SECTIONS = frozenset({Section.STEPS, Section.DOSSIER, Section.CONDITIONS, Section.RESULT})
"""Sections of a procedure whose first chunk has a dense vector besides the overview: where a
citizen's situation is described. Retrieval searches them as a list of their own."""


class Chunk(BaseModel):
    """One indexed, citable section of a document."""

    chunk_id: str
    doc_id: str
    doc_kind: str
    section: Section
    title: str
    text: str
    code: str = ""  # procedure code, when the document is a procedure
    field: str = ""
    levels: list[str] = Field(default_factory=list)
    agency: str = ""
    source_url: str = ""
    subjects: list[str] = Field(
        default_factory=list,
        description="Who a procedure is for, as the portal lists them (đối tượng thực hiện).",
    )
    embed: bool = False  # whether this chunk gets a dense vector (costly; chosen by the chunker)

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"embed"})


class SparseVector(BaseModel):
    indices: list[int]
    values: list[float]


class IndexPoint(BaseModel):
    """A chunk with its vectors, ready to be written."""

    point_id: str  # a UUID string derived from chunk_id
    chunk: Chunk
    dense: list[float] | None = None
    sparse: SparseVector


class ScoredChunk(BaseModel):
    chunk: Chunk
    score: float
