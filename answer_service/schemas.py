"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from answer_service.compose import Citation
from answer_service.facts import KeyFacts
from ingestion.models import RecordKind

MAX_QUERY_CHARS = 4_000

# A constrained str makes pydantic check that the text is valid Unicode; a bare ``list[str]``
# let a lone surrogate ("\ud800" in the JSON) through to the index, which failed with a 500.
FilterValue = Annotated[str, StringConstraints(max_length=2_000)]


class FiltersIn(BaseModel):
    """Values of field, level and agency as typed ("cap tinh", "sở tư pháp"): each is resolved
    to the values the index holds (``GET /v1/facets``), loosely; a kind must be known."""

    model_config = ConfigDict(extra="forbid")

    field: list[FilterValue] = Field(default_factory=list, max_length=20)
    levels: list[FilterValue] = Field(default_factory=list, max_length=5)
    agency: list[FilterValue] = Field(default_factory=list, max_length=20)
    doc_kind: list[RecordKind] = Field(default_factory=list, max_length=3)


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    top_k: int = Field(5, ge=1, le=50)
    filters: FiltersIn | None = None


class ChunkOut(BaseModel):
    section: str
    text: str
    score: float


class HitOut(BaseModel):
    doc_id: str
    doc_kind: str
    code: str
    title: str
    field: str
    levels: list[str]
    agency: str
    subjects: list[str] = Field(
        default_factory=list, description="Who the procedure is for (đối tượng thực hiện)."
    )
    source_url: str
    score: float
    exact_code_match: bool
    matched: list[ChunkOut]


class QueryInfo(BaseModel):
    text: str
    restored: str
    unaccented: bool
    expansions: list[str]
    codes: list[str]
    unknown_codes: list[str] = Field(
        default_factory=list,
        description="Codes the query names that no procedure in the index has (within the "
        "filters); for a provincial code, its national procedure is listed first when indexed.",
    )


class SearchOut(BaseModel):
    query: QueryInfo
    hits: list[HitOut]
    filters: dict[str, list[str]] = Field(
        default_factory=dict, description="The filters applied, as the index values they became."
    )
    took_ms: float


class FacetCount(BaseModel):
    value: str
    documents: int


class FacetsOut(BaseModel):
    """The values a filter can take, each with how many documents hold it, most first."""

    field: list[FacetCount]
    levels: list[FacetCount]
    agency: list[FacetCount]
    doc_kind: list[FacetCount] = Field(
        default_factory=list, description="The kinds of document the index holds."
    )


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: str = Field("citizen", pattern="^(citizen|operator)$")
    text: str = Field(max_length=MAX_QUERY_CHARS)


class SuggestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation: list[Turn] = Field(default_factory=list, max_length=200)
    transcript: str = Field("", max_length=20_000)
    top_k: int = Field(3, ge=1, le=10)
    channel: str = Field("phone", pattern="^(phone|zalo|facebook|email|web|sms|app)$")


class CuratedOut(BaseModel):
    doc_id: str
    question: str
    text: str
    score: float


class ProcedureSuggestion(BaseModel):
    facts: KeyFacts
    score: float
    chance: float = Field(
        0.0,
        description="The chance, 0 to 1, that this is the procedure asked about, among the "
        "procedures the search found.",
    )


class SuggestOut(BaseModel):
    route: str
    route_reason: str
    route_guidance: str = ""
    procedures: list[ProcedureSuggestion]
    curated_answers: list[CuratedOut]
    suggested_reply: str
    unknown_codes: list[str] = Field(
        default_factory=list,
        description="Procedure codes the conversation names that the catalogue does not hold; "
        "the suggested reply then stays empty, since the procedures found are not those named, "
        "unless the national procedure of a provincial code was found.",
    )
    confidence: float = Field(
        description="The chance, 0 to 1, that the first procedure is the one asked about; 1 "
        "for a procedure named by its code and for a routed question."
    )
    took_ms: float
    interaction_id: str = Field("", description="Refer to it in /v1/feedback.")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    channel: str = Field("web", pattern="^(phone|zalo|facebook|email|web|sms|app)$")


class AnswerOption(BaseModel):
    """A procedure the question may be about, offered for the citizen to choose."""

    code: str
    name: str
    source_url: str = ""


class AnswerOut(BaseModel):
    route: str
    answered: bool
    handover: bool
    handover_reason: str = ""
    text: str
    options: list[AnswerOption] = Field(
        default_factory=list,
        description=(
            "When no procedure is likely enough alone but two or three are together, the "
            "answer asks which one (answered and handover both false) and lists them here; "
            "the citizen replies with a code."
        ),
    )
    citations: list[Citation]
    confidence: float = Field(
        description="The chance, 0 to 1, that the likeliest procedure is the one asked about "
        "(answered directly at HOTLINE_ANSWER_AT or more, when the procedure also matches the "
        "question well on its own); 1 for a code and for a routed question."
    )
    generated_by: str  # "composer", "llm" or "routing"
    took_ms: float
    interaction_id: str = Field("", description="Refer to it in /v1/feedback.")


class ErrorOut(BaseModel):
    error_code: str
    detail: str | list[dict[str, object]]
