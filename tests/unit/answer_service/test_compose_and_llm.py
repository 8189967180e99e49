"""Composed answers, the grounding check, and the LLM rephraser against a real loopback server.

The composer and ``verify_grounded`` are plain functions, tested on a hand-built ``Procedure``.
The rephraser is tested through ``AnswerService.answer`` against a small HTTP server on
127.0.0.1 that speaks the OpenAI chat-completions wire format and answers as each test tells
it to (a grounded reply, an invented number, a 500, a reply too slow for the timeout). Those
tests open sockets, so they are marked ``integration``. The search engine and catalogue behind
the service are minimal stand-ins: what is under test is what happens after retrieval.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from answer_service.compose import Aspect, compose_answer, detect_aspects
from answer_service.llm import LlmRephraser, verify_grounded
from answer_service.service import AnswerService
from ingestion.models import (
    DossierComponent,
    Fee,
    Procedure,
    ProcedureStep,
    ProcessingTime,
    SubmissionChannel,
    SubmissionMethod,
    TimeUnit,
)
from search.learned_rank import LEARNED_SCORE
from search.models import Section
from search.query import AnalyzedQuery
from search.retrieval import DocumentHit, RetrievalResult, RetrievalWeights

CODE = "1.009901"


def swiftlet_procedure(*, online: bool = True, documents: int = 3) -> Procedure:
    """An invented procedure with every section the composer reads."""
    methods = [
        SubmissionMethod(
            channel=SubmissionChannel.DIRECT,
            processing_time=ProcessingTime(value=7, unit=TimeUnit.WORKING_DAY),
            fees=[Fee(amount=150_000, description="Lệ phí cấp giấy phép")],
        )
    ]
    if online:
        methods.append(
            SubmissionMethod(
                channel=SubmissionChannel.ONLINE,
                processing_time=ProcessingTime(value=5, unit=TimeUnit.WORKING_DAY),
                fees=[Fee(amount=120_000)],
            )
        )
    names = [
        "Đơn đề nghị cấp giấy phép nuôi chim yến",
        "Sơ đồ vị trí nhà nuôi chim yến",
        "Giấy cam kết bảo đảm vệ sinh môi trường",
    ] + [f"Giấy tờ bổ sung số {n}" for n in range(4, documents + 1)]
    return Procedure(
        code=CODE,
        name="Cấp giấy phép nuôi chim yến trong khu dân cư",
        levels=["Cấp xã"],
        field="Chăn nuôi",
        implementing_agency="Ủy ban nhân dân cấp xã",
        receiving_address="Bộ phận Một cửa của Ủy ban nhân dân xã Hòa Bình",
        steps=[
            ProcedureStep(order=1, text="Hộ nuôi yến chuẩn bị hồ sơ."),
            ProcedureStep(order=2, text="Nộp hồ sơ tại Bộ phận Một cửa."),
        ],
        submission_methods=methods,
        dossier=[
            DossierComponent(name=name, original_count=1) for name in names[: max(documents, 0)]
        ],
        conditions="Nhà nuôi yến cách trường học tối thiểu 300 mét.",
        results=["Giấy phép nuôi chim yến"],
        source_url=f"https://dichvucong.example/thu-tuc/{CODE}",
    )


def cited_sections(question: str, procedure: Procedure | None = None) -> set[Section]:
    composed = compose_answer(procedure or swiftlet_procedure(), question)
    assert all(c.code == CODE for c in composed.citations)
    return {c.section for c in composed.citations}


class TestComposeAnswer:
    def test_fee_question_cites_methods_and_gives_fees_only(self) -> None:
        composed = compose_answer(swiftlet_procedure(), "Lệ phí nuôi chim yến là bao nhiêu tiền?")

        assert composed.aspects == [Aspect.FEE]
        assert {c.section for c in composed.citations} == {Section.METHODS}
        assert "150.000 đồng (Lệ phí cấp giấy phép)" in composed.text
        assert "120.000 đồng" in composed.text
        assert "ngày làm việc" not in composed.text  # time was not asked
        assert "150.000 đồng" in composed.short_text

    def test_time_question_gives_processing_time_without_fees(self) -> None:
        composed = compose_answer(swiftlet_procedure(), "Làm giấy phép mất bao lâu?")

        assert composed.aspects == [Aspect.TIME]
        assert {c.section for c in composed.citations} == {Section.METHODS}
        assert "7 ngày làm việc" in composed.text
        assert "5 ngày làm việc" in composed.text
        assert "đồng" not in composed.text

    def test_documents_question_lists_the_dossier(self) -> None:
        composed = compose_answer(swiftlet_procedure(), "Cần chuẩn bị giấy tờ gì?")

        assert composed.aspects == [Aspect.DOCUMENTS]
        assert {c.section for c in composed.citations} == {Section.DOSSIER}
        assert "- Đơn đề nghị cấp giấy phép nuôi chim yến (1 bản chính)" in composed.text
        assert "Giấy cam kết bảo đảm vệ sinh môi trường" in composed.cited_text
        assert composed.short_text.startswith("Hồ sơ gồm 3 loại giấy tờ")

    def test_long_dossier_is_cut_and_says_how_many_are_left(self) -> None:
        composed = compose_answer(
            swiftlet_procedure(documents=10), "hồ sơ gồm những gì", max_documents=8
        )

        assert "Giấy tờ bổ sung số 8" in composed.text
        assert "Giấy tờ bổ sung số 9" not in composed.text
        assert "… và 2 giấy tờ khác" in composed.text

    def test_where_question_gives_the_receiving_address(self) -> None:
        composed = compose_answer(swiftlet_procedure(), "Phải đến đâu để làm?")

        assert Aspect.WHERE in composed.aspects
        assert Section.AGENCIES in {c.section for c in composed.citations}
        assert "Nơi thực hiện: Bộ phận Một cửa của Ủy ban nhân dân xã Hòa Bình." in composed.text

    @pytest.mark.parametrize(
        ("online", "expected"),
        [
            (True, "có thể nộp trực tuyến"),
            (False, "chưa có hình thức nộp trực tuyến"),
        ],
    )
    def test_online_question_follows_the_channels(self, online: bool, expected: str) -> None:
        procedure = swiftlet_procedure(online=online)
        composed = compose_answer(procedure, "Có nộp qua mạng được không?")

        assert Aspect.ONLINE in composed.aspects
        assert expected in composed.text
        assert Section.METHODS in {c.section for c in composed.citations}

    def test_question_without_cue_gets_steps_documents_time_and_fee(self) -> None:
        assert cited_sections("giấy phép nuôi chim yến") == {
            Section.STEPS,
            Section.DOSSIER,
            Section.METHODS,
        }

    def test_cues_typed_without_diacritics_are_found(self) -> None:
        assert detect_aspects("le phi bao nhieu, nop o dau") == [Aspect.FEE, Aspect.WHERE]

    @pytest.mark.parametrize(
        ("question", "aspects"),
        [
            ("Xin phiếu lý lịch tư pháp thì nộp hồ sơ ở đâu?", [Aspect.WHERE]),
            ("nop ho so o dau", [Aspect.WHERE]),
            ("Nộp hồ sơ thế nào?", [Aspect.STEPS]),
            ("Nộp hồ sơ thì cần những giấy tờ gì?", [Aspect.DOCUMENTS]),
            ("Làm giấy phép cần những hồ sơ gì?", [Aspect.DOCUMENTS]),
        ],
    )
    def test_submitting_a_dossier_is_not_a_question_about_documents(
        self, question: str, aspects: list[Aspect]
    ) -> None:
        assert detect_aspects(question) == aspects

    def test_a_where_question_is_answered_with_the_place_only(self) -> None:
        composed = compose_answer(swiftlet_procedure(), "Nộp hồ sơ ở đâu?")

        assert composed.aspects == [Aspect.WHERE]
        assert Section.DOSSIER not in {c.section for c in composed.citations}

    def test_missing_facts_say_so_and_cite_the_overview(self) -> None:
        bare = Procedure(code=CODE, name="Thủ tục chưa có dữ liệu")
        composed = compose_answer(bare, "lệ phí bao nhiêu")

        assert "Dữ liệu của thủ tục chưa có thông tin về: phí, lệ phí." in composed.text
        assert [c.section for c in composed.citations] == [Section.OVERVIEW]
        assert composed.missing == [Aspect.FEE] and not composed.has_facts

    def test_what_is_asked_and_missing_is_named_beside_what_is_known(self) -> None:
        procedure = swiftlet_procedure()
        procedure.conditions = ""
        composed = compose_answer(procedure, "hồ sơ gồm gì, điều kiện thế nào")

        assert "Hồ sơ gồm:" in composed.text
        assert "chưa có thông tin về: điều kiện." in composed.text
        assert composed.missing == [Aspect.CONDITIONS] and composed.has_facts

    def test_a_closing_duoc_khong_is_no_question_about_conditions_beside_another(self) -> None:
        procedure = swiftlet_procedure()
        procedure.conditions = ""
        for method in procedure.submission_methods:
            method.fees = []
        composed = compose_answer(procedure, "có làm online được không, phí bao nhiêu")

        assert Aspect.CONDITIONS in composed.aspects
        assert composed.missing == [Aspect.FEE]
        assert "chưa có thông tin về: phí, lệ phí." in composed.text
        alone = compose_answer(procedure, "tôi có được cấp giấy phép này không")
        assert alone.missing == [Aspect.CONDITIONS] and not alone.has_facts

    def test_methods_without_fees_or_times_do_not_answer_fee_or_time_questions(self) -> None:
        procedure = swiftlet_procedure()
        for method in procedure.submission_methods:
            method.fees, method.processing_time = [], None
        composed = compose_answer(procedure, "lệ phí bao nhiêu, mất mấy ngày")

        assert set(composed.missing) == {Aspect.FEE, Aspect.TIME}
        assert not composed.has_facts
        assert "chưa có thông tin về: phí, lệ phí, thời hạn giải quyết." in composed.text

    def test_every_fact_of_the_answer_is_in_the_cited_text(self) -> None:
        composed = compose_answer(swiftlet_procedure(), "phí, thời hạn, hồ sơ, nộp ở đâu")

        body = composed.text.replace(composed.citations[0].source_url, "")
        assert verify_grounded(body, composed.cited_text) == []


class TestVerifyGrounded:
    SOURCES = (
        "Nộp trực tiếp, thời hạn giải quyết 7 ngày làm việc, phí, lệ phí: 10.000 đồng\n"
        "Đơn đề nghị cấp giấy phép nuôi chim yến (1 bản chính)"
    )

    @pytest.mark.parametrize("amount", ["10.000", "10000", "10,000"])
    def test_numbers_written_differently_are_the_same(self, amount: str) -> None:
        answer = f"Lệ phí là {amount} đồng, có kết quả sau 7 ngày làm việc."
        assert verify_grounded(answer, self.SOURCES) == []

    def test_invented_fee_is_rejected(self) -> None:
        problems = verify_grounded("Lệ phí là 20.000 đồng.", self.SOURCES)
        assert problems == ["number 20.000"]

    def test_invented_processing_time_is_rejected(self) -> None:
        assert verify_grounded("Có kết quả sau 3 ngày.", self.SOURCES) == ["number 3"]

    def test_quoted_document_from_the_sources_passes_despite_case_and_accents(self) -> None:
        answer = "Quý khách nộp «don de nghi cap giay phep nuoi chim yen»."
        assert verify_grounded(answer, self.SOURCES) == []

    def test_quoted_document_not_in_the_sources_is_rejected(self) -> None:
        answer = "Quý khách mang theo «Giấy xác nhận của trưởng thôn»."
        assert verify_grounded(answer, self.SOURCES) == ["name «Giấy xác nhận của trưởng thôn»"]


# --------------------------------------------------------------------------------------------
# The rephraser against a loopback OpenAI-compatible server


@dataclass
class FakeLlmServer:
    """What the loopback endpoint answers next, and the requests it received."""

    base_url: str
    reply: str = ""
    status: int = 200
    delay_s: float = 0.0
    raw_body: bytes | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _handler_for(state: list[FakeLlmServer]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the name http.server dispatches to)
            server = state[0]
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            server.requests.append(
                {"path": self.path, "authorization": self.headers.get("authorization"), **body}
            )
            if server.delay_s:
                server.release.wait(server.delay_s)
            if self.path != "/v1/chat/completions":
                payload, status = b'{"error": "no such route"}', 404
            elif server.status != 200:
                payload, status = b'{"error": {"message": "boom"}}', server.status
            elif server.raw_body is not None:
                payload, status = server.raw_body, 200
            else:
                payload = json.dumps(_completion(server.reply, body.get("model", ""))).encode()
                status = 200
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
            pass

    return Handler


@pytest.fixture
def llm_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLlmServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    state: list[FakeLlmServer] = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    httpd.daemon_threads = True
    state.append(FakeLlmServer(base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1"))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state[0]
    state[0].release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


class _StandInEngine:
    """Returns the procedure as an exact code match, so the answer goes past the abstain gate."""

    def __init__(self, procedure: Procedure) -> None:
        self.procedure = procedure
        self.retriever = SimpleNamespace(weights=RetrievalWeights())

    def search(self, query: str, *, top_k: int = 5, query_filter: object = None) -> RetrievalResult:
        hit = DocumentHit(
            doc_id=self.procedure.doc_id,
            doc_kind="procedure",
            code=self.procedure.code,
            title=self.procedure.name,
            score=1.0,
            exact_code_match=True,
        )
        analyzed = AnalyzedQuery(original=query, text=query, unaccented=False, restored=query)
        return RetrievalResult(query=analyzed, hits=[hit][:top_k])


class _StandInCatalog:
    """The three reads the answer service's procedure cache makes, for the one procedure."""

    def __init__(self, procedure: Procedure) -> None:
        self.record = procedure.model_dump(mode="json")
        self.doc_id = f"procedure:{CODE}"

    def procedure_ref(self, code: str) -> tuple[str, str] | None:
        return (self.doc_id, "hash") if code == CODE else None

    def content_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return {self.doc_id: "hash"} if self.doc_id in doc_ids else {}

    def normalized(self, doc_id: str) -> tuple[str, dict[str, Any]] | None:
        return ("hash", self.record) if doc_id == self.doc_id else None


def service_with(rephraser: LlmRephraser) -> AnswerService:
    procedure = swiftlet_procedure()
    return AnswerService(
        engine=_StandInEngine(procedure),  # type: ignore[arg-type]  # a stand-in, see above
        catalog=_StandInCatalog(procedure),  # type: ignore[arg-type]
        rephraser=rephraser,
    )


QUESTION = "Lệ phí cấp giấy phép nuôi chim yến bao nhiêu tiền?"


@pytest.mark.integration
class TestLlmRephraser:
    def rephraser(self, server: FakeLlmServer, *, timeout_s: float = 5.0) -> LlmRephraser:
        return LlmRephraser(
            base_url=server.base_url, model="qwen-test", api_key="sk-loopback", timeout_s=timeout_s
        )

    def test_grounded_reply_is_used(self, llm_server: FakeLlmServer) -> None:
        llm_server.reply = "Dạ, lệ phí nộp trực tiếp là 150000 đồng, nộp trực tuyến 120.000 đồng."

        answer = service_with(self.rephraser(llm_server)).answer(QUESTION)

        assert answer.generated_by == "llm"
        assert answer.text == llm_server.reply
        assert answer.answered and not answer.handover
        assert {c.section for c in answer.citations} == {Section.METHODS}
        (request,) = llm_server.requests
        assert request["path"] == "/v1/chat/completions"
        assert request["model"] == "qwen-test"
        assert request["authorization"] == "Bearer sk-loopback"
        user_turn = request["messages"][-1]["content"]
        text = user_turn if isinstance(user_turn, str) else json.dumps(user_turn)
        assert "150.000 đồng" in text  # the model is shown the sources it must stay within

    def test_reply_with_invented_number_falls_back_to_the_composer(
        self, llm_server: FakeLlmServer
    ) -> None:
        llm_server.reply = "Dạ, lệ phí là 250.000 đồng và có kết quả sau 2 ngày."
        rephraser = self.rephraser(llm_server)

        answer = service_with(rephraser).answer(QUESTION)

        assert answer.generated_by == "composer"
        assert "250.000" not in answer.text
        assert "150.000 đồng" in answer.text
        rephrased, problems = rephraser.rephrase(QUESTION, "x", "lệ phí 150.000 đồng")
        assert rephrased is None
        assert problems == ["number 250.000", "number 2"]

    def test_reply_with_invented_document_name_falls_back(self, llm_server: FakeLlmServer) -> None:
        llm_server.reply = "Quý khách cần «Giấy xác nhận hạnh kiểm của công an»."

        answer = service_with(self.rephraser(llm_server)).answer("Cần giấy tờ gì?")

        assert answer.generated_by == "composer"
        assert answer.text.startswith("Thủ tục «Cấp giấy phép nuôi chim yến")

    @pytest.mark.parametrize("status", [500, 503, 429])
    def test_server_error_falls_back(self, llm_server: FakeLlmServer, status: int) -> None:
        llm_server.status = status

        answer = service_with(self.rephraser(llm_server)).answer(QUESTION)

        assert answer.generated_by == "composer"
        assert "150.000 đồng" in answer.text
        assert len(llm_server.requests) == 1  # no retries: the operator is waiting

    def test_malformed_body_falls_back(self, llm_server: FakeLlmServer) -> None:
        llm_server.raw_body = b"<html>gateway</html>"

        answer = service_with(self.rephraser(llm_server)).answer(QUESTION)

        assert answer.generated_by == "composer"

    def test_timeout_falls_back_within_the_budget(self, llm_server: FakeLlmServer) -> None:
        llm_server.reply = "Dạ, lệ phí là 150.000 đồng."
        llm_server.delay_s = 10.0
        service = service_with(self.rephraser(llm_server, timeout_s=0.5))

        started = time.perf_counter()
        answer = service.answer(QUESTION)
        elapsed = time.perf_counter() - started

        assert answer.generated_by == "composer"
        assert "150.000 đồng" in answer.text
        assert elapsed < 5.0

    def test_unreachable_endpoint_falls_back(self) -> None:
        # A port that was just free: nothing listens there.
        with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as probe:
            port = probe.server_address[1]
        rephraser = LlmRephraser(base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout_s=2.0)

        answer = service_with(rephraser).answer(QUESTION)

        assert answer.generated_by == "composer"


def test_a_fee_that_lost_its_thousands_is_doubtful() -> None:
    from answer_service.service import doubtful_fees
    from ingestion.models import Fee, Procedure, SubmissionChannel, SubmissionMethod

    def with_fees(*fees: Fee) -> Procedure:
        method = SubmissionMethod(channel=SubmissionChannel.DIRECT, fees=list(fees))
        return Procedure(code="1.000001", name="Thủ tục thử", submission_methods=[method])

    assert doubtful_fees(with_fees(Fee(amount=45)))
    assert not doubtful_fees(with_fees(Fee(amount=45_000), Fee(amount=0)))
    assert not doubtful_fees(with_fees(Fee(amount=25, currency="USD")))  # a visa fee
    assert not doubtful_fees(with_fees(Fee(amount=None, text="Theo quy định")))


def _hit(code: str, learned: float | None, title: str = "") -> DocumentHit:
    """A procedure hit with the learnt ranker's score ``learned`` (None: the ranker was off)."""
    scores = {} if learned is None else {LEARNED_SCORE: learned}
    return DocumentHit(
        doc_id=f"procedure:{code}",
        doc_kind="procedure",
        code=code,
        title=title or code,
        score=1.0,
        list_scores=scores,
    )


def test_chances_are_a_softmax_of_the_learnt_scores() -> None:
    from answer_service.service import choice_probabilities

    chances = choice_probabilities([_hit("a", 2.0), _hit("b", 0.0), _hit("c", 0.0)])

    assert chances == pytest.approx(
        [math.e**2 / (math.e**2 + 2), 1 / (math.e**2 + 2)] + [1 / (math.e**2 + 2)]
    )
    # Scores far apart do not overflow; the difference is all that counts.
    assert choice_probabilities([_hit("a", 1000.0), _hit("b", 999.0)]) == pytest.approx(
        choice_probabilities([_hit("a", 1.0), _hit("b", 0.0)])
    )
    assert choice_probabilities([]) == []
    # Without the learnt ranker nothing stands out, and a lone hit is the only choice.
    assert choice_probabilities([_hit("a", None), _hit("b", None)]) == [0.5, 0.5]
    assert choice_probabilities([_hit("a", None)]) == [1.0]


def test_a_likely_enough_first_procedure_is_answered() -> None:
    from answer_service.service import choose

    hits = [_hit("a", 5.0), _hit("b", 0.0), _hit("c", -1.0)]

    choice = choose(hits, answer_at=0.95, offer_at=0.9)

    assert choice.answers and [h.code for h in choice.procedures] == ["a"]
    assert choice.chance > 0.95
    assert not choose(hits, answer_at=0.999, offer_at=0.9).answers


def test_the_fewest_likeliest_procedures_that_reach_the_mark_are_offered() -> None:
    from answer_service.service import choose

    # Chances about 0.48, 0.48, 0.04, 0.00: two reach 0.9.
    hits = [_hit("a", 3.0), _hit("b", 3.0), _hit("c", 0.5), _hit("d", -3.0)]

    choice = choose(hits, answer_at=0.95, offer_at=0.9)

    assert not choice.answers
    assert [h.code for h in choice.procedures] == ["a", "b"]
    assert [h.code for h in choose(hits, answer_at=0.95, offer_at=0.99).procedures] == [
        "a",
        "b",
        "c",
    ]


def test_a_first_procedure_short_of_answering_is_offered_with_the_next() -> None:
    from answer_service.service import choose

    # About 0.91 for the first: above the mark for offering, under the one for answering.
    hits = [_hit("a", 3.0), _hit("b", 0.5), _hit("c", -1.0)]

    choice = choose(hits, answer_at=0.95, offer_at=0.9)

    assert [h.code for h in choice.procedures] == ["a", "b"]


def test_when_three_procedures_do_not_reach_the_mark_nothing_is_offered() -> None:
    from answer_service.service import choose

    hits = [_hit(code, 0.0) for code in "abcde"]

    choice = choose(hits, answer_at=0.95, offer_at=0.9)

    assert choice.procedures == [] and not choice.answers
    assert choice.chance == pytest.approx(0.6)
    assert choose([], answer_at=0.95, offer_at=0.9).procedures == []


def test_the_same_procedure_at_another_level_is_not_offered_beside_others() -> None:
    from answer_service.service import choose

    hits = [
        _hit("1.014064", 2.0, "Cấp lại thẻ căn cước"),
        _hit("2.001194", 1.9, "Cấp lại thẻ căn cước (thực hiện tại cấp tỉnh)"),
        _hit("1.000757", 1.8, "Cấp lại thẻ căn cước (thực hiện tại cấp trung ương)"),
        _hit("1.014063", 1.7, "Cấp đổi thẻ căn cước"),
        _hit("1.014062", -2.0, "Cấp thẻ căn cước"),
    ]

    choice = choose(hits, answer_at=0.95, offer_at=0.9)

    # The three levels count as one name, about 0.78 of the chance, with 0.21 for the next.
    assert [h.code for h in choice.procedures] == ["1.014064", "1.014063"]


def test_a_procedure_whose_level_alone_is_unclear_offers_its_levels() -> None:
    from answer_service.service import choose

    hits = [
        _hit("1.010385", 4.0, "Trình báo mất hộ chiếu phổ thông (cấp xã)"),
        _hit("1.010386", 3.8, "Trình báo mất hộ chiếu phổ thông (cấp tỉnh)"),
        _hit("1.000001", -2.0, "Cấp hộ chiếu phổ thông"),
    ]

    choice = choose(hits, answer_at=0.95, offer_at=0.9)

    assert [h.code for h in choice.procedures] == ["1.010385", "1.010386"]
    assert choice.chance > 0.95
