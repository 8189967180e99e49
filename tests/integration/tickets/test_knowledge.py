"""The knowledge loop: proposals, the editor's review, and approved answers into ingestion."""

from __future__ import annotations

import pytest

from ingestion.connectors.curated import AnsweredTicketSource, ApprovedTicketConnector
from tests.utils.tickets import make_actor, make_ticket
from tickets.errors import InvalidTransition, PermissionDenied, TicketError, VersionConflict
from tickets.schemas import ReviewDecision, TicketUpdate
from tickets.service import TicketService
from tickets.workflow import Role

pytestmark = pytest.mark.integration


def _answered(service: TicketService, question: str, answer: str, field: str) -> int:
    operator = make_actor(service)
    ticket = make_ticket(service, operator, content=question)
    service.classify(ticket.id, field=field, procedure_codes=["1.001234"], actor=operator)
    service.answer(ticket.id, text=answer, actor=operator)
    return ticket.id


def test_approved_answers_flow_through_the_ingestion_connector(
    ticket_service: TicketService,
) -> None:
    operator = make_actor(ticket_service)
    editor = make_actor(ticket_service, Role.EDITOR)
    kept = _answered(ticket_service, "Làm lại căn cước ở đâu?", "Tại công an phường.", "Cư trú")
    edited = _answered(ticket_service, "Đổi bằng lái?", "Nộp ở Sở.", "Giao thông")
    dropped = _answered(ticket_service, "Hỏi linh tinh", "Không rõ", "Khác")

    proposals = [
        ticket_service.propose_answer(ticket_id, actor=operator)
        for ticket_id in (kept, edited, dropped)
    ]
    assert [p.status for p in proposals] == ["proposed"] * 3
    assert proposals[0].question == "Làm lại căn cước ở đâu?"
    assert proposals[0].procedure_codes == ["1.001234"]

    approved = ticket_service.review_proposal(
        proposals[0].id, ReviewDecision(decision="approve"), actor=editor, expected_version=1
    )
    assert approved.status == "approved" and approved.reviewed_by == editor.username
    draft = ticket_service.review_proposal(
        proposals[1].id,
        ReviewDecision(decision="edit", answer="Nộp hồ sơ đổi giấy phép lái xe tại Sở GTVT."),
        actor=editor,
    )
    assert draft.status == "proposed" and draft.version == 2
    ticket_service.review_proposal(
        proposals[1].id,
        ReviewDecision(decision="approve", question="Đổi giấy phép lái xe ở đâu?"),
        actor=editor,
        expected_version=2,
    )
    ticket_service.review_proposal(
        proposals[2].id, ReviewDecision(decision="reject", note="Không đủ rõ"), actor=editor
    )

    assert isinstance(ticket_service, AnsweredTicketSource)
    connector = ApprovedTicketConnector(ticket_service)
    refs = connector.list_items()
    answers = {ref.source_id: connector.normalize(connector.fetch(ref)) for ref in refs}
    assert set(answers) == {f"ticket-{kept}", f"ticket-{edited}"}
    first = answers[f"ticket-{kept}"]
    assert (first.question, first.answer, first.field) == (
        "Làm lại căn cước ở đâu?",
        "Tại công an phường.",
        "Cư trú",
    )
    assert list(first.procedure_codes) == ["1.001234"]
    assert first.approved_by == editor.username and first.approved_at is not None
    assert first.origin == "ticket"
    second = answers[f"ticket-{edited}"]
    assert second.question == "Đổi giấy phép lái xe ở đâu?"
    assert second.answer == "Nộp hồ sơ đổi giấy phép lái xe tại Sở GTVT."

    # Every step is in the ticket's own log.
    log = [(e.action, e.actor) for e in ticket_service.events(edited)]
    assert ("propose_answer", operator.username) in log
    assert ("edit_proposal", editor.username) in log
    assert ("approve_proposal", editor.username) in log
    rejected = [e for e in ticket_service.events(dropped) if e.action == "reject_proposal"]
    assert rejected[0].text == "Không đủ rõ"


def test_review_rules(ticket_service: TicketService) -> None:
    operator = make_actor(ticket_service)
    editor = make_actor(ticket_service, Role.EDITOR)
    ticket_id = _answered(ticket_service, "Câu hỏi", "Trả lời", "Khác")
    proposal = ticket_service.propose_answer(ticket_id, actor=operator)
    with pytest.raises(TicketError, match="already has proposal"):
        ticket_service.propose_answer(ticket_id, actor=operator)
    with pytest.raises(PermissionDenied):
        ticket_service.review_proposal(
            proposal.id, ReviewDecision(decision="approve"), actor=operator
        )
    with pytest.raises(VersionConflict):
        ticket_service.review_proposal(
            proposal.id, ReviewDecision(decision="approve"), actor=editor, expected_version=7
        )
    ticket_service.review_proposal(proposal.id, ReviewDecision(decision="reject"), actor=editor)
    with pytest.raises(TicketError, match="already rejected") as final:
        ticket_service.review_proposal(
            proposal.id, ReviewDecision(decision="approve"), actor=editor
        )
    assert final.value.error_code.http_status == 409
    again = ticket_service.propose_answer(ticket_id, actor=operator, answer="Trả lời rõ hơn")
    assert again.answer == "Trả lời rõ hơn"
    assert [p.id for p in ticket_service.list_proposals(status="proposed")] == [again.id]

    unanswered = make_ticket(ticket_service, operator)
    with pytest.raises(InvalidTransition, match="only answered"):
        ticket_service.propose_answer(unanswered.id, actor=operator)


PERSONAL = "Tôi là chị Thử, số 0900000456, thư thu.nghiem@example.invalid, CCCD 001234567890."


def test_personal_data_stays_out_of_proposals_and_public_views(
    ticket_service: TicketService,
) -> None:
    operator = make_actor(ticket_service)
    editor = make_actor(ticket_service, Role.EDITOR)
    ticket = make_ticket(ticket_service, operator, content=f"Làm lại căn cước? {PERSONAL}")
    ticket_service.update(ticket.id, TicketUpdate(public=True), actor=operator, expected_version=1)
    ticket_service.classify(ticket.id, field="Cư trú", actor=operator)
    ticket_service.answer(ticket.id, text="Gọi lại 0900000456 để hẹn.", actor=operator)

    proposal = ticket_service.propose_answer(ticket.id, actor=operator)
    edited = ticket_service.review_proposal(
        proposal.id,
        ReviewDecision(decision="approve", answer="Liên hệ qua hop.thu@example.invalid"),
        actor=editor,
    )
    public = ticket_service.public_view(ticket.id)
    [served] = ticket_service.approved_answers()
    for text in (
        proposal.question,
        proposal.answer,
        edited.answer,
        public.content,
        public.answer,
        served.question,
        served.answer,
    ):
        assert text is not None
        for secret in ("0900000456", "example.invalid", "001234567890"):
            assert secret not in text, text
    assert "[số điện thoại]" in proposal.question and "[email]" in proposal.question
    # Staff still see the ticket as the citizen wrote it.
    assert "0900000456" in ticket_service.get(ticket.id).content


def test_reopening_sends_an_approved_answer_back_to_review(
    ticket_service: TicketService,
) -> None:
    operator = make_actor(ticket_service)
    editor = make_actor(ticket_service, Role.EDITOR)
    ticket_id = _answered(ticket_service, "Đăng ký tạm trú?", "Nộp ở xã.", "Cư trú")
    proposal = ticket_service.propose_answer(ticket_id, actor=operator)
    ticket_service.review_proposal(proposal.id, ReviewDecision(decision="approve"), actor=editor)
    assert len(ticket_service.approved_answers()) == 1

    ticket_service.reopen(ticket_id, reason="Câu trả lời sai: nộp ở công an xã", actor=operator)
    assert ticket_service.approved_answers() == []
    again = ticket_service.get_proposal(proposal.id)
    assert again.status == "proposed" and "reopened" in (again.review_note or "")
    withdrawn = [e for e in ticket_service.events(ticket_id) if e.action == "withdraw_proposal"]
    assert [(e.old_value, e.new_value) for e in withdrawn] == [
        (f"{proposal.id}:approved", f"{proposal.id}:proposed")
    ]
    # The editor can decide again.
    rejected = ticket_service.review_proposal(
        proposal.id, ReviewDecision(decision="reject", note="Sai"), actor=editor
    )
    assert rejected.status == "rejected"
