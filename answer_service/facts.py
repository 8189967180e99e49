"""Key facts of a procedure, as an operator needs them at a glance, each tied to its section."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ingestion.models import Procedure, SubmissionChannel
from ingestion.render import CHANNEL_LABELS, render_component, render_fees, render_time


class MethodFacts(BaseModel):
    channel: str
    label: str
    processing_time: str
    fees: str


class KeyFacts(BaseModel):
    """What the operator reads first: documents, time, fees, where and how, online or not."""

    code: str
    name: str
    field: str
    levels: list[str]
    subjects: list[str] = Field(
        default_factory=list, description="Who the procedure is for (đối tượng thực hiện)."
    )
    documents: list[str] = Field(default_factory=list)
    methods: list[MethodFacts] = Field(default_factory=list)
    where: str = ""
    can_submit_online: bool = False
    conditions: str = ""
    results: list[str] = Field(default_factory=list)
    source_url: str = ""
    incomplete: list[str] = Field(
        default_factory=list, description="Sections the source did not give completely."
    )


def key_facts(procedure: Procedure, *, max_documents: int = 12) -> KeyFacts:
    where = (
        procedure.receiving_address or procedure.implementing_agency or (procedure.competent_agency)
    )
    return KeyFacts(
        code=procedure.code,
        name=procedure.name,
        field=procedure.field,
        levels=procedure.levels,
        subjects=procedure.subjects,
        documents=[render_component(c) for c in procedure.dossier[:max_documents]],
        methods=[
            MethodFacts(
                channel=m.channel.value,
                label=CHANNEL_LABELS[m.channel],
                processing_time=render_time(m.processing_time),
                fees=render_fees(m.fees),
            )
            for m in procedure.submission_methods
        ],
        where=where,
        can_submit_online=any(
            m.channel is SubmissionChannel.ONLINE for m in procedure.submission_methods
        ),
        conditions=procedure.conditions[:600],
        results=procedure.results,
        source_url=procedure.source_url,
        incomplete=procedure.parse_warnings[:5],
    )
