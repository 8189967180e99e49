"""The editor's routes (``/v1/knowledge``) on a real answer service, through the consoles' client.

Browse and search, a record beside its raw form, local notes with their version guard, the
synonym dictionary (an edit reaches the next query), sync reports and what a run changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from agent_assist_ui.client import AnswerServiceClient, RequestRejected
from tests.integration.answer_service.invented_kb import (
    DRIVING,
    INVENTED_PROCEDURES,
    LIBRARY,
    SWIFTLET,
)
from tests.integration.ui.live_service import USERS, LiveService

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(live_service: LiveService) -> Iterator[AnswerServiceClient]:
    """A client signed in as the test editor."""
    with AnswerServiceClient(live_service.url, token=live_service.token("editor")) as client:
        yield client


class TestEditsNeedAnEditor:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("PUT", f"/v1/knowledge/procedures/{LIBRARY}/local", {"note": "x", "version": 0}),
            ("DELETE", f"/v1/knowledge/procedures/{LIBRARY}/local?version=1", None),
            ("PUT", "/v1/knowledge/synonyms", {"entries": [], "version": "x"}),
            ("POST", "/v1/knowledge/sync", {"sources": ["dump"]}),
        ],
    )
    def test_without_token_401_operator_403(
        self, live_service: LiveService, method: str, path: str, body: object
    ) -> None:
        anonymous = httpx.request(method, f"{live_service.url}{path}", json=body)
        assert anonymous.status_code == 401
        operator = httpx.request(
            method,
            f"{live_service.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {live_service.token('operator')}"},
        )
        assert operator.status_code == 403
        assert operator.json()["error_code"] == "forbidden"

    def test_reads_are_open(self, live_service: LiveService) -> None:
        assert httpx.get(f"{live_service.url}/v1/knowledge/records").status_code == 200


class TestBrowse:
    def test_lists_every_record_by_code(self, api: AnswerServiceClient) -> None:
        page = api.knowledge_records(kind="procedure")
        assert page["total"] == len(INVENTED_PROCEDURES)
        codes = [item["code"] for item in page["items"]]
        assert codes == sorted(codes)

    def test_search_without_diacritics_finds_the_title(self, api: AnswerServiceClient) -> None:
        page = api.knowledge_records(query="nuoi chim yen")
        assert [item["code"] for item in page["items"]] == [SWIFTLET]

    def test_search_with_diacritics_is_exact(self, api: AnswerServiceClient) -> None:
        assert api.knowledge_records(query="thư viện")["items"][0]["code"] == LIBRARY
        assert api.knowledge_records(query="thu vien cộng")["total"] == 0

    def test_search_by_code_and_paging(self, api: AnswerServiceClient) -> None:
        assert api.knowledge_records(query=DRIVING)["items"][0]["code"] == DRIVING
        first = api.knowledge_records(limit=2, offset=0)
        second = api.knowledge_records(limit=2, offset=2)
        assert len(first["items"]) == 2
        assert {i["doc_id"] for i in first["items"]}.isdisjoint(
            {i["doc_id"] for i in second["items"]}
        )

    def test_record_as_indexed_beside_raw(self, api: AnswerServiceClient) -> None:
        doc_id = api.knowledge_records(query=SWIFTLET)["items"][0]["doc_id"]
        detail = api.knowledge_record(doc_id)
        assert detail["raw"]["ma_thu_tuc"] == SWIFTLET
        assert detail["normalized"]["code"] == SWIFTLET
        sections = [s["section"] for s in detail["sections"]]
        assert sections[0] == "overview"
        assert {"methods", "dossier"} <= set(sections)
        assert len(detail["sections"]) == detail["point_count"]
        dossier = next(s for s in detail["sections"] if s["section"] == "dossier")
        assert "Sơ đồ vị trí nhà nuôi chim yến" in dossier["text"]

    def test_unknown_record_is_404(self, api: AnswerServiceClient) -> None:
        with pytest.raises(RequestRejected) as caught:
            api.knowledge_record("procedure:9.999999")
        assert caught.value.status == 404

    def test_bad_kind_is_422(self, api: AnswerServiceClient) -> None:
        with pytest.raises(RequestRejected) as caught:
            api.knowledge_records(kind="everything")
        assert caught.value.status == 422


class TestLocalNotes:
    def test_create_update_conflict_delete(self, api: AnswerServiceClient) -> None:
        created = api.save_local_notes(
            LIBRARY,
            {
                "counter_address": "Số 1 đường Thử Nghiệm, phường Mẫu",
                "phones": ["0900000101", "(0200) 000-000"],
                "note": "Nhận hồ sơ buổi sáng.",
                "version": 0,
            },
        )
        assert created["version"] == 1
        assert created["updated_by"] == USERS["editor"][0]  # from the token, not the body
        shown = api.facts_with_local(LIBRARY)
        assert shown["facts"]["code"] == LIBRARY
        assert shown["local"]["phones"] == ["0900000101", "(0200) 000-000"]

        updated = api.save_local_notes(LIBRARY, {"note": "Cả ngày.", "version": 1})
        assert updated["version"] == 2 and updated["counter_address"] == ""
        with pytest.raises(RequestRejected) as stale:
            api.save_local_notes(LIBRARY, {"note": "ghi đè", "version": 1})
        assert stale.value.status == 409
        assert api.local_notes(LIBRARY)["note"] == "Cả ngày."
        assert LIBRARY in [n["code"] for n in api.list_local_notes()["items"]]

        with pytest.raises(RequestRejected) as stale_delete:
            api.delete_local_notes(LIBRARY, version=1)
        assert stale_delete.value.status == 409
        api.delete_local_notes(LIBRARY, version=2)
        assert api.facts_with_local(LIBRARY)["local"] is None

    def test_second_create_conflicts(self, api: AnswerServiceClient) -> None:
        api.save_local_notes(DRIVING, {"note": "một", "version": 0})
        try:
            with pytest.raises(RequestRejected) as caught:
                api.save_local_notes(DRIVING, {"note": "hai", "version": 0})
            assert caught.value.status == 409
        finally:
            api.delete_local_notes(DRIVING, version=1)

    @pytest.mark.parametrize(
        "notes",
        [
            {"phones": ["gọi tôi"], "version": 0},
            {"phones": ["0900000000"] * 11, "version": 0},
            {"note": "x" * 4001, "version": 0},
            {"note": "x", "version": -1},
            {"note": "x", "version": 0, "updated_by": "someone else"},
        ],
    )
    def test_bad_notes_are_422_and_nothing_is_saved(
        self, api: AnswerServiceClient, notes: dict[str, object]
    ) -> None:
        with pytest.raises(RequestRejected) as caught:
            api.save_local_notes(SWIFTLET, notes)
        assert caught.value.status == 422
        assert api.facts_with_local(SWIFTLET)["local"] is None

    def test_unknown_procedure_is_404(self, api: AnswerServiceClient) -> None:
        with pytest.raises(RequestRejected) as caught:
            api.save_local_notes("1.999999", {"note": "x", "version": 0})
        assert caught.value.status == 404

    def test_bad_code_is_422(self, live_service: LiveService) -> None:
        response = httpx.get(f"{live_service.url}/v1/knowledge/procedures/abc/local")
        assert response.status_code == 422


class TestSynonyms:
    def test_edit_reaches_the_next_query(
        self, api: AnswerServiceClient, live_service: LiveService
    ) -> None:
        current = api.synonyms()
        assert current["editable"] is True
        assert current["path"] == str(live_service.settings.synonyms_path)
        before = api.search("hồ sơ nuôi yến xyzq")["query"]["expansions"]
        assert "thư viện cộng đồng" not in before

        entries = [*current["entries"], {"term": "xyzq", "means": ["thư viện cộng đồng"]}]
        saved = api.save_synonyms(entries, version=current["version"])
        assert saved["version"] != current["version"]
        assert {"term": "xyzq", "means": ["thư viện cộng đồng"]} in saved["entries"]
        assert saved["reindex_needed"] is False  # a lower-case term changes queries only
        after = api.search("hồ sơ nuôi yến xyzq")["query"]["expansions"]
        assert "thư viện cộng đồng" in after
        on_disk = json.loads(live_service.settings.synonyms_path.read_text(encoding="utf-8"))
        assert on_disk["description"]  # the file's description is kept

        with pytest.raises(RequestRejected) as stale:
            api.save_synonyms(current["entries"], version=current["version"])
        assert stale.value.status == 409
        api.save_synonyms(current["entries"], version=saved["version"])
        assert "xyzq" not in [e["term"] for e in api.synonyms()["entries"]]

    def test_a_changed_capital_abbreviation_asks_for_a_reindex(
        self, api: AnswerServiceClient
    ) -> None:
        current = api.synonyms()
        assert current["reindex_needed"] is False
        entries = [*current["entries"], {"term": "XYZQ", "means": ["thư viện cộng đồng"]}]
        saved = api.save_synonyms(entries, version=current["version"])
        assert saved["reindex_needed"] is True
        restored = api.save_synonyms(current["entries"], version=saved["version"])
        assert restored["reindex_needed"] is True  # removing it changes the documents too
        assert api.synonyms()["reindex_needed"] is False

    def test_duplicate_terms_are_refused(self, api: AnswerServiceClient) -> None:
        current = api.synonyms()
        twice = [{"term": "ABC", "means": ["một"]}, {"term": "abc", "means": ["hai"]}]
        with pytest.raises(RequestRejected) as caught:
            api.save_synonyms(twice, version=current["version"])
        assert caught.value.status == 422
        assert api.synonyms()["version"] == current["version"]

    @pytest.mark.parametrize(
        "entry",
        [
            {"term": "", "means": ["x"]},
            {"term": "x", "means": []},
            {"term": "x"},
            {"term": "???", "means": ["x"]},  # no letter: no query could contain it
            {"term": "x", "means": ["😀"]},
            {"term": "<br>", "means": ["x"]},  # markup: nothing is left once cleaned
        ],
    )
    def test_incomplete_entries_are_422(
        self, api: AnswerServiceClient, entry: dict[str, object]
    ) -> None:
        current = api.synonyms()
        with pytest.raises(RequestRejected) as caught:
            api.save_synonyms([entry], version=current["version"])
        assert caught.value.status == 422
        assert api.synonyms()["version"] == current["version"]

    @pytest.mark.parametrize(
        "broken", ['{"entries": [ {"term": "cccd", ', "", '{"entries": "x"}', "[]"]
    )
    def test_a_broken_file_keeps_the_last_good_dictionary(
        self, api: AnswerServiceClient, live_service: LiveService, broken: str
    ) -> None:
        path = live_service.settings.synonyms_path
        good = path.read_text(encoding="utf-8")
        current = api.synonyms()
        try:
            path.write_text(broken, encoding="utf-8")
            found = api.search("mất CCCD làm lại ở đâu")
            assert "căn cước công dân" in found["query"]["expansions"]
            shown = api.synonyms()
            assert "not valid" in shown["load_error"]
            assert shown["entries"] == current["entries"]  # what searches use
            # Saving with the broken file's version repairs it.
            repaired = api.save_synonyms(current["entries"], version=shown["version"])
            assert repaired["load_error"] is None
            assert json.loads(path.read_text(encoding="utf-8"))["description"]
        finally:
            path.write_text(good, encoding="utf-8")
        assert api.synonyms()["load_error"] is None

    def test_a_save_keeps_the_file_mode_and_a_long_term_on_disk_reads_back(
        self, api: AnswerServiceClient, live_service: LiveService
    ) -> None:
        path = live_service.settings.synonyms_path
        good = path.read_text(encoding="utf-8")
        path.chmod(0o644)
        current = api.synonyms()
        saved = api.save_synonyms(current["entries"], version=current["version"])
        assert path.stat().st_mode & 0o777 == 0o644
        try:
            data = json.loads(good)
            data["entries"].append({"term": "x" * 150, "means": ["một"]})  # longer than PUT takes
            path.write_text(json.dumps(data), encoding="utf-8")
            shown = api.synonyms()
            assert shown["load_error"] is None and shown["version"] != saved["version"]
        finally:
            path.write_text(good, encoding="utf-8")

    def test_a_missing_file_is_reported_and_created_on_save(
        self, api: AnswerServiceClient, live_service: LiveService
    ) -> None:
        path = live_service.settings.synonyms_path
        good = path.read_text(encoding="utf-8")
        current = api.synonyms()
        path.unlink()
        try:
            shown = api.synonyms()
            assert shown["version"] == "missing" and "does not exist" in shown["load_error"]
            assert api.search("mất CCCD làm lại ở đâu")["query"]["expansions"]
            api.save_synonyms(current["entries"], version="missing")
            assert path.exists()
        finally:
            path.write_text(good, encoding="utf-8")

    def test_a_dictionary_of_thousands_of_entries_fits_in_one_save(
        self, api: AnswerServiceClient, live_service: LiveService
    ) -> None:
        current = api.synonyms()
        many = [
            {"term": f"thuật ngữ thử {n}", "means": [f"nghĩa chính thức số {n}"]}
            for n in range(3_000)
        ]
        body = json.dumps({"entries": many, "version": current["version"]})  # escaped: large
        assert len(body) > 64 * 1024
        response = httpx.put(
            f"{live_service.url}/v1/knowledge/synonyms",
            content=body,
            headers={
                "Authorization": f"Bearer {live_service.token('editor')}",
                "Content-Type": "application/json",
            },
            timeout=30,
        )
        assert response.status_code == 200, response.text
        api.save_synonyms(current["entries"], version=response.json()["version"])


class TestSync:
    def test_status_counts_and_last_run(self, api: AnswerServiceClient) -> None:
        status = api.sync_status()
        assert sum(status["records"].values()) == len(INVENTED_PROCEDURES)
        assert status["running"] == []
        (run,) = status["last_runs"]
        assert run["status"] == "completed"
        assert run["added"] == len(INVENTED_PROCEDURES)
        assert api.sync_runs(limit=5)[0]["run_id"] == run["run_id"]

    def test_changes_of_a_run(self, api: AnswerServiceClient) -> None:
        run_id = api.sync_runs()[0]["run_id"]
        changes = api.sync_run_changes(run_id)
        assert changes["run"]["run_id"] == run_id
        expected = {p["ma_thu_tuc"] for p in INVENTED_PROCEDURES}
        assert {c["code"] for c in changes["changed"]} == expected

    def test_unknown_run_is_404(self, api: AnswerServiceClient) -> None:
        with pytest.raises(RequestRejected) as caught:
            api.sync_run_changes(999_999)
        assert caught.value.status == 404

    def test_unknown_source_is_refused_before_queueing(self, api: AnswerServiceClient) -> None:
        with pytest.raises(RequestRejected) as caught:
            api.start_sync(["everything"])
        assert caught.value.status == 422
        assert "allowed" in str(caught.value.detail)
