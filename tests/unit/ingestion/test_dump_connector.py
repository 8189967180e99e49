"""The procedure dump connector: listing, bad lines, normalization and the parse report."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from ingestion.connectors.base import Connector, ItemRef
from ingestion.connectors.dump import ProcedureDumpConnector, parse_report
from ingestion.errors import ConnectorError, RecordError
from ingestion.models import RecordKind, SourceRecord, SubmissionChannel, TimeUnit, stable_hash
from ingestion.parsers.flattened import DOSSIER_HEADER, LEGAL_HEADER, METHODS_HEADER
from ingestion.parsers.flattened import main as report_main
from ingestion.settings import default_shared_data
from search.errors import ConfigurationError

SHARED_DATA = default_shared_data()
DUMP = SHARED_DATA / "procedures" / "dvcqg-procedures.jsonl.gz"
needs_dump = pytest.mark.skipif(
    not DUMP.exists(), reason=f"shared data not found beside the repository (expected {DUMP})"
)

# An invented procedure in the crawl's shape.
RECORD: dict[str, Any] = {
    "ma_thu_tuc": "9.000001",
    "detail_url": "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/00000000-0000-0000-0000-000000000001",
    "formality_id": "",
    "ten_thu_tuc": "  Cấp giấy   xác nhận thử nghiệm ",
    "so_quyet_dinh": "1/QĐ-TEST",
    "cap_thuc_hien": "Cấp bộ, Cấp tỉnh",
    "loai_thu_tuc": "TTHC được giao luật quy định chi tiết",
    "linh_vuc": "Thử nghiệm",
    "doi_tuong_thuc_hien": "Công dân Việt Nam, Tổ chức (không bao gồm doanh nghiệp, HTX)",
    "co_quan_co_tham_quyen": "Bộ Thử nghiệm",
    "dia_chi_tiep_nhan": "",
    "co_quan_duoc_uy_quyen": "Không có thông tin",
    "co_quan_phoi_hop": "Sở Thử nghiệm",
    "thu_tuc_lien_quan": "Không có thông tin",
    "trinh_tu_thuc_hien": "Bước 1: Nộp hồ sơ.\nBước 2: Nhận kết quả.",
    "cach_thuc_thuc_hien": METHODS_HEADER
    + "Trực tiếp5 Ngày làm việc10,000 Việt Nam Đồng(10.000 đồng/lần)- Nộp tại Bộ phận Một cửa."
    + "Trực tuyến5 Ngày làm việcMiễn phí- Nộp qua Cổng dịch vụ công quốc gia.",
    "thanh_phan_ho_so": "--" + DOSSIER_HEADER + "Tờ khai (Mẫu TK01)Mẫu TK01.docx1 bản chính",
    "can_cu_phap_ly": LEGAL_HEADER + "Thông tư thử nghiệm01/2026/TT-BTN",
    "co_quan_thuc_hien": "Cục Thử nghiệm",
    "yeu_cau_dieu_kien": "Người đề nghị  đủ 18 tuổi.\n\n  Có hồ sơ hợp lệ.",
    "ket_qua_xu_ly": "Giấy xác nhậnMã: KQ.G99.000001Từ khóaKhông có thông tinMô tả",
    "_source_file": "scripts/crawler/data/raw/thu-nghiem/9.000001.json",
}


def write_dump(path: Path, lines: list[Any], *, compress: bool = False) -> Path:
    text = "\n".join(
        line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines
    )
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        path.write_text(text + "\n", encoding="utf-8")
    return path


def other_record(code: str, **changes: Any) -> dict[str, Any]:
    return {**RECORD, "ma_thu_tuc": code, "ten_thu_tuc": f"Thủ tục {code}", **changes}


@pytest.fixture
def dump(tmp_path: Path) -> ProcedureDumpConnector:
    path = write_dump(
        tmp_path / "procedures.jsonl.gz", [RECORD, other_record("9.000002")], compress=True
    )
    return ProcedureDumpConnector(path)


class TestInit:
    def test_is_a_connector(self, dump: ProcedureDumpConnector) -> None:
        assert isinstance(dump, Connector)
        assert dump.name == "dvcqg-dump"

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="does not exist"):
            ProcedureDumpConnector(tmp_path / "absent.jsonl.gz")

    def test_directory(self, tmp_path: Path) -> None:
        folder = tmp_path / "dump.jsonl"
        folder.mkdir()
        with pytest.raises(ConfigurationError, match="is a directory"):
            ProcedureDumpConnector(folder)

    def test_wrong_suffix(self, tmp_path: Path) -> None:
        path = tmp_path / "procedures.csv"
        path.write_text("ma_thu_tuc\n1.000001\n", encoding="utf-8")
        with pytest.raises(ConfigurationError, match=r"\.jsonl or \.jsonl\.gz"):
            ProcedureDumpConnector(path)

    def test_gz_name_without_gzip_content(self, tmp_path: Path) -> None:
        path = write_dump(tmp_path / "procedures.jsonl.gz", [RECORD])
        with pytest.raises(ConfigurationError, match="not gzip"):
            ProcedureDumpConnector(path)

    def test_truncated_gzip_fails_the_listing(self, tmp_path: Path) -> None:
        path = write_dump(tmp_path / "full.jsonl.gz", [RECORD] * 50, compress=True)
        broken = tmp_path / "broken.jsonl.gz"
        broken.write_bytes(path.read_bytes()[:200])
        with pytest.raises(ConnectorError, match="cannot read"):
            ProcedureDumpConnector(broken).list_items()


class TestListAndFetch:
    def test_lists_every_record_with_its_content_hash(self, dump: ProcedureDumpConnector) -> None:
        refs = dump.list_items()

        assert [ref.source_id for ref in refs] == ["9.000001", "9.000002"]
        assert refs[0].version == stable_hash(RECORD)
        assert dump.fetch(refs[0]).content_hash == refs[0].version

    def test_plain_jsonl_reads_the_same(self, tmp_path: Path) -> None:
        path = write_dump(tmp_path / "procedures.jsonl", [RECORD, "", "   "])

        refs = ProcedureDumpConnector(path).list_items()

        assert [ref.source_id for ref in refs] == ["9.000001"]  # blank lines are no records

    def test_fetch_returns_the_record_as_received(self, dump: ProcedureDumpConnector) -> None:
        record = dump.fetch(ItemRef(source_id="9.000001"))

        assert record.raw == RECORD
        assert record.source == "dvcqg-dump"
        assert record.kind is RecordKind.PROCEDURE
        assert record.url == RECORD["detail_url"]

    def test_fetch_unknown_item(self, dump: ProcedureDumpConnector) -> None:
        with pytest.raises(ConnectorError, match="no item"):
            dump.fetch(ItemRef(source_id="1.999999"))

    def test_reads_the_file_once(self, tmp_path: Path) -> None:
        path = write_dump(tmp_path / "procedures.jsonl", [RECORD])
        connector = ProcedureDumpConnector(path)
        connector.list_items()
        path.write_text("", encoding="utf-8")

        assert [ref.source_id for ref in connector.list_items()] == ["9.000001"]

    def test_has_changed_compares_versions(self, dump: ProcedureDumpConnector) -> None:
        ref = dump.list_items()[0]

        assert dump.has_changed(ref, None)
        assert not dump.has_changed(ref, ref.version)
        assert dump.has_changed(ref, "an older hash")


class TestBadLines:
    @pytest.fixture
    def connector(self, tmp_path: Path) -> ProcedureDumpConnector:
        lines = [
            RECORD,
            '{"ma_thu_tuc": "9.000003", "ten_thu_tuc": ',  # cut off
            {"ten_thu_tuc": "Thủ tục không có mã"},
            ["not", "an", "object"],
            other_record("9.000001"),  # the same code again
            other_record("9.000004"),
        ]
        return ProcedureDumpConnector(write_dump(tmp_path / "bad.jsonl", lines))

    def test_bad_lines_are_listed_not_dropped(self, connector: ProcedureDumpConnector) -> None:
        assert [ref.source_id for ref in connector.list_items()] == [
            "9.000001",
            "line-2",
            "line-3",
            "line-4",
            "line-5",
            "9.000004",
        ]

    @pytest.mark.parametrize(
        ("source_id", "message"),
        [
            ("line-2", r"bad\.jsonl line 2: not valid JSON"),
            ("line-3", r"line 3: no procedure code \(ma_thu_tuc\)"),
            ("line-4", r"line 4: a JSON list, not an object"),
            ("line-5", r"line 5: procedure 9\.000001 again \(first on line 1\)"),
        ],
    )
    def test_normalizing_a_bad_line_names_it(
        self, connector: ProcedureDumpConnector, source_id: str, message: str
    ) -> None:
        record = connector.fetch(ItemRef(source_id=source_id))

        with pytest.raises(RecordError, match=message) as caught:
            connector.normalize(record)
        assert caught.value.source_id == source_id

    def test_good_lines_still_normalize(self, connector: ProcedureDumpConnector) -> None:
        procedure = connector.normalize(connector.fetch(ItemRef(source_id="9.000004")))

        assert procedure.code == "9.000004"

    def test_record_without_name_or_from_elsewhere(self, dump: ProcedureDumpConnector) -> None:
        nameless = SourceRecord(
            source="dvcqg-dump",
            source_id="9.000009",
            kind=RecordKind.PROCEDURE,
            raw=other_record("9.000009", ten_thu_tuc="Không có thông tin"),
        )
        foreign = SourceRecord(
            source="portal-excel", source_id="9.000001", kind=RecordKind.PROCEDURE, raw=RECORD
        )

        with pytest.raises(RecordError, match="no name"):
            dump.normalize(nameless)
        with pytest.raises(RecordError, match="portal-excel"):
            dump.normalize(foreign)


class TestNormalize:
    def test_fills_every_field(self, dump: ProcedureDumpConnector) -> None:
        record = dump.fetch(ItemRef(source_id="9.000001"))

        procedure = dump.normalize(record)

        assert procedure.code == "9.000001"
        assert procedure.name == "Cấp giấy xác nhận thử nghiệm"
        assert procedure.levels == ["Cấp bộ", "Cấp tỉnh"]
        assert procedure.field == "Thử nghiệm"
        assert procedure.procedure_type == "TTHC được giao luật quy định chi tiết"
        assert procedure.decision_number == "1/QĐ-TEST"
        assert procedure.subjects == [
            "Công dân Việt Nam",
            "Tổ chức (không bao gồm doanh nghiệp, HTX)",
        ]
        assert procedure.competent_agency == "Bộ Thử nghiệm"
        assert procedure.implementing_agency == "Cục Thử nghiệm"
        assert procedure.coordinating_agency == "Sở Thử nghiệm"
        assert procedure.authorized_agency == ""  # "Không có thông tin"
        assert procedure.receiving_address == ""
        assert procedure.related_procedures == ""
        assert procedure.agency_codes == []
        assert procedure.conditions == "Người đề nghị đủ 18 tuổi.\nCó hồ sơ hợp lệ."
        assert procedure.description == procedure.conditions
        assert [step.text for step in procedure.steps] == ["Nộp hồ sơ.", "Nhận kết quả."]
        assert [m.channel for m in procedure.submission_methods] == [
            SubmissionChannel.DIRECT,
            SubmissionChannel.ONLINE,
        ]
        assert procedure.can_submit_online
        assert procedure.submission_methods[0].fees[0].amount == 10000
        assert [(c.name, c.form) for c in procedure.dossier] == [
            ("Tờ khai (Mẫu TK01)", "Mẫu TK01.docx")
        ]
        assert [(b.title, b.number) for b in procedure.legal_basis] == [
            ("Thông tư thử nghiệm", "01/2026/TT-BTN")
        ]
        assert procedure.results == ["Giấy xác nhận"]
        assert procedure.source_url == RECORD["detail_url"]
        assert procedure.content_hash == record.content_hash
        assert procedure.last_seen == record.fetched_at
        assert procedure.parse_warnings == []
        assert procedure.doc_id == "procedure:9.000001"

    def test_parse_warnings_come_from_the_sections(self, tmp_path: Path) -> None:
        odd = other_record("9.000005", cach_thuc_thuc_hien="Nộp trực tiếp", ket_qua_xu_ly="Giấy")
        connector = ProcedureDumpConnector(write_dump(tmp_path / "odd.jsonl", [odd]))

        procedure = connector.normalize(connector.fetch(ItemRef(source_id="9.000005")))

        assert procedure.submission_methods == []
        assert procedure.results == ["Giấy"]
        assert any(w.startswith("submission methods:") for w in procedure.parse_warnings)
        assert any(w.startswith("results:") for w in procedure.parse_warnings)

    def test_local_code_gives_its_scope(self, tmp_path: Path) -> None:
        local = other_record("1.000948.H38")
        connector = ProcedureDumpConnector(write_dump(tmp_path / "local.jsonl", [local]))

        procedure = connector.normalize(connector.fetch(ItemRef(source_id="1.000948.H38")))

        assert procedure.agency_codes == ["H38"]

    def test_missing_and_non_text_fields(self, tmp_path: Path) -> None:
        sparse = {"ma_thu_tuc": "9.000006", "ten_thu_tuc": "Thủ tục thưa", "linh_vuc": 42}
        connector = ProcedureDumpConnector(write_dump(tmp_path / "sparse.jsonl", [sparse]))

        procedure = connector.normalize(connector.fetch(ItemRef(source_id="9.000006")))

        assert procedure.field == "42"
        assert procedure.submission_methods == []
        assert procedure.parse_warnings == []


class TestParseReport:
    def test_counts_complete_sections(self, tmp_path: Path) -> None:
        odd = other_record("9.000007", can_cu_phap_ly="Không có thông tin", ket_qua_xu_ly="Giấy")
        lines = [RECORD, odd, "{broken"]
        connector = ProcedureDumpConnector(write_dump(tmp_path / "report.jsonl", lines))

        report = parse_report(connector)

        assert report["records"] == 3
        assert report["bad_lines"] == 1
        legal = report["sections"]["can_cu_phap_ly"]
        assert (legal["complete"], legal["empty"], legal["incomplete"]) == (2, 1, 1)
        results = report["sections"]["ket_qua_xu_ly"]
        assert (results["complete"], results["incomplete"]) == (1, 2)
        assert results["top_warnings"] == {"results: text without a result code": 1}
        assert report["overall"] == {"complete": 1, "complete_percent": 33.33}

    def test_entry_point_prints_the_report(
        self, dump: ProcedureDumpConnector, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert report_main([str(dump.path)]) == 0

        printed = json.loads(capsys.readouterr().out)
        assert printed["records"] == 2
        assert printed["overall"]["complete_percent"] == 100.0


@pytest.fixture(scope="module")
def real_dump() -> ProcedureDumpConnector:
    return ProcedureDumpConnector(DUMP)


@needs_dump
@pytest.mark.slow
class TestRealDump:
    @pytest.fixture
    def connector(self, real_dump: ProcedureDumpConnector) -> ProcedureDumpConnector:
        return real_dump

    def test_lists_all_procedures(self, connector: ProcedureDumpConnector) -> None:
        refs = connector.list_items()

        assert len(refs) == 2642
        assert len({ref.source_id for ref in refs}) == 2642
        assert not any(ref.source_id.startswith("line-") for ref in refs)

    def test_tach_ho(self, connector: ProcedureDumpConnector) -> None:
        """1.010038 "Tách hộ": two channels, 5 working days, 10,000 đồng direct, 5,000 online."""
        procedure = connector.normalize(connector.fetch(ItemRef(source_id="1.010038")))

        assert procedure.name == "Tách hộ"
        assert procedure.levels == ["Cấp xã"]
        methods = {method.channel: method for method in procedure.submission_methods}
        assert set(methods) == {SubmissionChannel.DIRECT, SubmissionChannel.ONLINE}
        for method in methods.values():
            assert method.processing_time is not None
            assert method.processing_time.value == 5
            assert method.processing_time.unit is TimeUnit.WORKING_DAY
        assert [fee.amount for fee in methods[SubmissionChannel.DIRECT].fees] == [10000]
        assert [fee.amount for fee in methods[SubmissionChannel.ONLINE].fees] == [5000]
        assert "Công an cấp xã" in methods[SubmissionChannel.DIRECT].description
        assert ("Luật Cư trú 2020", "68/2020/QH14") in [
            (basis.title, basis.number) for basis in procedure.legal_basis
        ]
        assert "Cập nhật thông tin trong Cơ sở dữ liệu về cư trú" in procedure.results
        assert not any("Chọn cơ quan" in result for result in procedure.results)
        assert [step.order for step in procedure.steps] == [1, 2, 3, 4]
        assert procedure.parse_warnings == []

    def test_report_meets_the_targets(self, connector: ProcedureDumpConnector) -> None:
        report = parse_report(connector)

        assert report["records"] == 2642
        assert report["bad_lines"] == 0
        for key in ("cach_thuc_thuc_hien", "thanh_phan_ho_so"):
            assert report["sections"][key]["complete_percent"] >= 95, key
        assert report["overall"]["complete_percent"] >= 90

    def test_every_record_normalizes(self, connector: ProcedureDumpConnector) -> None:
        procedures = [connector.normalize(connector.fetch(ref)) for ref in connector.list_items()]

        assert all(procedure.name for procedure in procedures)
        assert sum(bool(procedure.submission_methods) for procedure in procedures) >= 2600
        free_online = [
            fee.amount
            for procedure in procedures
            for method in procedure.submission_methods
            if method.channel is SubmissionChannel.ONLINE
            for fee in method.fees
        ]
        assert free_online.count(0) > 1000  # most online submissions are free of charge
