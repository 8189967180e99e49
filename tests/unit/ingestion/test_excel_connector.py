"""The portal's Excel list exports as procedure stubs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from ingestion.connectors.base import Connector, ItemRef
from ingestion.connectors.dump import ProcedureDumpConnector
from ingestion.connectors.excel import STUB_WARNING, PortalExcelConnector
from ingestion.errors import ConnectorError, RecordError
from ingestion.models import RecordKind, SourceRecord, stable_hash
from ingestion.settings import default_shared_data
from search.errors import ConfigurationError

SHARED_DATA = default_shared_data()
EXPORTS = SHARED_DATA / "procedures" / "portal_exports"
DUMP = SHARED_DATA / "procedures" / "dvcqg-procedures.jsonl.gz"
needs_exports = pytest.mark.skipif(
    not EXPORTS.is_dir(),
    reason=f"shared data not found beside the repository (expected {EXPORTS})",
)

TITLE = (
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập – Tự do – Hạnh phúc\n\n"
    "DANH SÁCH THỦ TỤC HÀNH CHÍNH"
)
HEADER = ["Mã số", "Tên", "Cơ quan ban hành", "Cơ quan thực hiện", "Lĩnh vực"]
ROWS: list[list[Any]] = [
    ["9.100001", "Cấp giấy phép thử nghiệm", "Bộ Thử nghiệm", "Cục Thử nghiệm", "Thử nghiệm"],
    [
        "9.100002",
        " Gia hạn  giấy phép thử nghiệm ",
        "Bộ Thử nghiệm",
        "Sở Thử nghiệm\nỦy ban nhân dân cấp xã\n\n",
        "Thử nghiệm",
    ],
]


def write_export(
    path: Path,
    rows: Sequence[Sequence[Any]],
    *,
    header: Sequence[str] = HEADER,
    title_rows: int = 1,
) -> Path:
    """An export laid out as the portal does: a merged title row, the header, the rows."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Danh sách TTHC"
    for index in range(title_rows):
        sheet.append([TITLE if index == 0 else None])
    if title_rows:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_export(tmp_path / "danh-sach-tthc-BoThuNghiem.xlsx", ROWS)


class TestInit:
    def test_is_a_connector(self, export: Path) -> None:
        connector = PortalExcelConnector([export])

        assert isinstance(connector, Connector)
        assert connector.name == "portal-excel"
        assert connector.paths == [export]

    def test_a_single_path_or_a_folder(self, export: Path, tmp_path: Path) -> None:
        assert len(PortalExcelConnector(export).list_items()) == 2
        assert len(PortalExcelConnector(str(tmp_path)).list_items()) == 2

    def test_no_file_given(self) -> None:
        with pytest.raises(ConfigurationError, match="no portal Excel export"):
            PortalExcelConnector([])

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="does not exist"):
            PortalExcelConnector([tmp_path / "absent.xlsx"])

    def test_not_xlsx(self, tmp_path: Path) -> None:
        path = tmp_path / "list.csv"
        path.write_text("Mã số,Tên\n", encoding="utf-8")
        with pytest.raises(ConfigurationError, match="not an .xlsx file"):
            PortalExcelConnector([path])

    def test_not_a_workbook(self, tmp_path: Path) -> None:
        path = tmp_path / "broken.xlsx"
        path.write_text("this is no workbook", encoding="utf-8")
        with pytest.raises(ConfigurationError, match="not a readable workbook"):
            PortalExcelConnector([path])

    def test_no_header_row(self, tmp_path: Path) -> None:
        path = write_export(tmp_path / "other.xlsx", [["a", "b"]], header=["Cột 1", "Cột 2"])
        with pytest.raises(ConfigurationError, match="no header row with 'Mã số' and 'Tên'"):
            PortalExcelConnector([path])

    def test_empty_folder(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="has no .xlsx"):
            PortalExcelConnector(tmp_path)


class TestListAndFetch:
    def test_lists_rows_with_a_version(self, export: Path) -> None:
        connector = PortalExcelConnector([export])

        refs = connector.list_items()

        assert [ref.source_id for ref in refs] == ["9.100001", "9.100002"]
        record = connector.fetch(refs[0])
        assert refs[0].version == stable_hash(record.raw) == record.content_hash

    def test_fetch_keeps_the_cells_and_the_file(self, export: Path) -> None:
        connector = PortalExcelConnector([export])

        record = connector.fetch(ItemRef(source_id="9.100002"))

        assert record.kind is RecordKind.PROCEDURE
        assert record.source == "portal-excel"
        assert record.raw["_file"] == export.name
        assert record.raw["Cơ quan thực hiện"] == ROWS[1][3]
        assert record.raw["Cơ quan ban hành"] == "Bộ Thử nghiệm"

    def test_fetch_unknown_item(self, export: Path) -> None:
        with pytest.raises(ConnectorError, match="no portal export row"):
            PortalExcelConnector([export]).fetch(ItemRef(source_id="1.999999"))

    def test_header_found_below_extra_title_rows_and_columns_reordered(
        self, tmp_path: Path
    ) -> None:
        header = ["Lĩnh vực", "Tên", "Mã số", "Cơ quan thực hiện"]
        rows = [["Thử nghiệm", "Đăng ký thử", "9.100003", "Cục Thử nghiệm"]]
        path = write_export(tmp_path / "moved.xlsx", rows, header=header, title_rows=3)
        connector = PortalExcelConnector([path])

        procedure = connector.normalize(connector.fetch(ItemRef(source_id="9.100003")))

        assert (procedure.name, procedure.field) == ("Đăng ký thử", "Thử nghiệm")
        assert procedure.implementing_agency == "Cục Thử nghiệm"


class TestRowsThatAreNoProcedure:
    @pytest.fixture
    def connector(self, tmp_path: Path) -> PortalExcelConnector:
        rows = [
            ROWS[0],
            [None, "Thủ tục thiếu mã", "Bộ Thử nghiệm", "Cục Thử nghiệm", "Thử nghiệm"],
            [None, None, None, None, None],  # an empty row: no record at all
            ["9.100001", "Cùng mã lần hai", "Bộ Thử nghiệm", "", "Thử nghiệm"],
            ["9.100004", "", "Bộ Thử nghiệm", "", "Thử nghiệm"],
        ]
        return PortalExcelConnector([write_export(tmp_path / "gaps.xlsx", rows)])

    def test_listed_not_dropped(self, connector: PortalExcelConnector) -> None:
        assert [ref.source_id for ref in connector.list_items()] == [
            "9.100001",
            "gaps.xlsx:row-4",
            "gaps.xlsx:row-6",
            "9.100004",
        ]

    @pytest.mark.parametrize(
        ("source_id", "message"),
        [
            ("gaps.xlsx:row-4", r"gaps\.xlsx row 4: no procedure code \(Mã số\)"),
            ("gaps.xlsx:row-6", r"gaps\.xlsx row 6: procedure 9\.100001 again"),
            ("9.100004", "has no name"),
        ],
    )
    def test_normalize_raises_naming_the_row(
        self, connector: PortalExcelConnector, source_id: str, message: str
    ) -> None:
        record = connector.fetch(ItemRef(source_id=source_id))

        with pytest.raises(RecordError, match=message):
            connector.normalize(record)

    def test_record_from_another_source(self, connector: PortalExcelConnector) -> None:
        record = SourceRecord(
            source="dvcqg-dump", source_id="9.100001", kind=RecordKind.PROCEDURE, raw={}
        )
        with pytest.raises(RecordError, match="dvcqg-dump"):
            connector.normalize(record)


class TestNormalize:
    def test_stub_fields(self, export: Path) -> None:
        connector = PortalExcelConnector([export])
        record = connector.fetch(ItemRef(source_id="9.100002"))

        procedure = connector.normalize(record)

        assert procedure.code == "9.100002"
        assert procedure.name == "Gia hạn giấy phép thử nghiệm"
        assert procedure.field == "Thử nghiệm"
        assert procedure.implementing_agency == "Sở Thử nghiệm; Ủy ban nhân dân cấp xã"
        assert procedure.parse_warnings == [STUB_WARNING]
        assert procedure.content_hash == record.content_hash
        assert procedure.submission_methods == []
        assert procedure.dossier == []


@needs_exports
@pytest.mark.slow
def test_real_exports() -> None:
    """The seven exports list the same 2,642 procedures as the crawl dump."""
    connector = PortalExcelConnector(sorted(EXPORTS.glob("*.xlsx")))

    refs = connector.list_items()
    procedures = {
        ref.source_id: connector.normalize(connector.fetch(ref)) for ref in connector.list_items()
    }

    assert len(refs) == 2642
    assert len(procedures) == 2642
    assert all(procedure.name and procedure.field for procedure in procedures.values())
    assert procedures["1.010038"].name == "Tách hộ"
    assert procedures["1.010038"].implementing_agency == "Công an cấp Xã"
    courts = procedures["3.000163"].implementing_agency.split("; ")
    assert "Tòa án nhân dân khu vực" in courts
    assert len(courts) == 4
    if DUMP.exists():
        dump_codes = {ref.source_id for ref in ProcedureDumpConnector(DUMP).list_items()}
        assert dump_codes == set(procedures)
