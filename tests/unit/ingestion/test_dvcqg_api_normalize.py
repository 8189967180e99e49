"""Normalizing the national portal's procedure details, from the real fixtures and our own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingestion.connectors.base import Connector, ItemRef
from ingestion.connectors.dvcqg_api import NationalPortalConnector
from ingestion.errors import RecordError
from ingestion.jurisdiction import in_jurisdiction
from ingestion.models import RecordKind, SourceRecord, SubmissionChannel, TimeUnit
from ingestion.settings import default_shared_data
from search.errors import ConfigurationError

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = default_shared_data() / "fixtures" / "dvcqg-api"
TACH_HO = FIXTURES / "details" / "019d2bf7-7f1e-71e3-be3e-7f22dce4ac4d.json"
GIA_HAN = FIXTURES / "details-gia-lai" / "019d2bf7-cd62-75ce-b319-7b31d19fb35f.json"
needs_shared_data = pytest.mark.skipif(
    not (TACH_HO.is_file() and GIA_HAN.is_file()),
    reason=f"shared data not found beside the repository (expected {FIXTURES})",
)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unit test tried to reach {request.url}")


@pytest.fixture
def connector() -> Iterator[NationalPortalConnector]:
    client = httpx.Client(transport=httpx.MockTransport(_refuse))
    with client:
        yield NationalPortalConnector("https://portal.test", client=client)


def _record(raw: dict[str, Any], source_id: str = "id-1") -> SourceRecord:
    return SourceRecord(source="dvcqg-api", source_id=source_id, kind=RecordKind.PROCEDURE, raw=raw)


def _detail(**overrides: Any) -> dict[str, Any]:
    """A small detail in the portal's shape, written for these tests."""
    detail: dict[str, Any] = {
        "id": "00000000-0000-7000-8000-000000000001",
        "code": "1.999001",
        "codeNotation": "1.999001",
        "name": "Cấp giấy xác nhận thử nghiệm",
        "executionSteps": [{"name": "", "description": "- Nộp hồ sơ.\n- Nhận kết quả."}],
        "executionMethods": [
            {
                "submissionMethod": "POSTAL",
                "processingTime": 2.5,
                "processingTimeUnit": "HOUR",
                "fees": [{"type": "FEE", "value": 25000, "description": "Lệ phí"}],
            }
        ],
        "executionCases": [
            {
                "name": "- Trường hợp thông thường:",
                "profileComponents": [
                    {"name": "Tờ khai", "originalQty": 1, "copyQty": 2, "attachments": []}
                ],
            }
        ],
        "isProvince": True,
        "isWard": True,
        "departmentPromulgateCode": "G99",
    }
    detail.update(overrides)
    return detail


class TestRealFixtures:
    @needs_shared_data
    def test_tach_ho_maps_every_section(self, connector: NationalPortalConnector) -> None:
        raw = json.loads(TACH_HO.read_text(encoding="utf-8"))

        procedure = connector.normalize(_record(raw, raw["id"]))

        assert (procedure.code, procedure.name) == ("1.010038", "Tách hộ")
        assert procedure.levels == ["Cấp xã"]
        assert procedure.field == "Đăng ký, quản lý cư trú"
        assert procedure.procedure_type == "TTHC được giao luật quy định chi tiết"
        assert procedure.implementing_agency == "Công an cấp Xã"
        assert procedure.competent_agency == "Công an cấp Xã"
        assert "Công dân Việt Nam" in procedure.subjects
        assert procedure.agency_codes == []

        channels = [method.channel for method in procedure.submission_methods]
        assert channels == [SubmissionChannel.DIRECT, SubmissionChannel.ONLINE]
        for method in procedure.submission_methods:
            assert method.processing_time is not None
            assert method.processing_time.value == 5
            assert method.processing_time.unit is TimeUnit.WORKING_DAY
            assert method.processing_time.text == "5 Ngày làm việc"
        direct, online = procedure.submission_methods
        assert [fee.amount for fee in direct.fees] == [10000, 0]
        assert [fee.amount for fee in online.fees] == [5000, 0]
        assert direct.fees[0].text == "10.000 đồng"
        assert "10.000 đồng/lần" in direct.fees[0].description

        assert [step.order for step in procedure.steps] == [1, 2, 3, 4]
        assert procedure.steps[1].text == "Cá nhân, tổ chức nộp hồ sơ đến Công an cấp xã."
        assert "mẫu CT04" in procedure.steps[2].text

        tokhai = [c for c in procedure.dossier if c.name.startswith("Tờ khai thay đổi")]
        assert len(tokhai) == 2
        assert all((c.original_count, c.copy_count) == (1, 0) for c in tokhai)
        assert tokhai[0].form.endswith(".doc")
        assert tokhai[0].group.startswith("Trường hợp thành viên hộ gia đình")
        assert len(procedure.dossier) == 4

        assert procedure.conditions.startswith("Thành viên hộ gia đình được tách hộ")
        assert "Phiếu từ chối tiếp nhận, giải quyết hồ sơ (lĩnh vực cư trú)" in procedure.results
        assert len(procedure.results) == 4
        numbers = [basis.number for basis in procedure.legal_basis]
        assert "68/2020/QH14" in numbers and "62/2021/NĐ-CP" in numbers
        assert len(numbers) == 9
        assert procedure.decision_number == "5548/QĐ-BCA-C06"
        assert procedure.source_url.endswith("/thu-tuc-hanh-chinh/" + raw["id"])
        assert procedure.parse_warnings == []

    @needs_shared_data
    def test_province_level_fixture(self, connector: NationalPortalConnector) -> None:
        raw = json.loads(GIA_HAN.read_text(encoding="utf-8"))

        procedure = connector.normalize(_record(raw, raw["id"]))

        assert procedure.code == "1.000358"
        assert procedure.levels == ["Cấp tỉnh"]
        channels = {method.channel for method in procedure.submission_methods}
        assert channels == {
            SubmissionChannel.ONLINE,
            SubmissionChannel.POSTAL,
            SubmissionChannel.DIRECT,
        }
        assert all(
            [fee.amount for fee in method.fees] == [0] for method in procedure.submission_methods
        )
        assert procedure.implementing_agency == "Ủy ban nhân dân cấp tỉnh"
        counts = {(c.original_count, c.copy_count) for c in procedure.dossier}
        assert counts == {(1, 0), (0, 1)}
        assert len(procedure.dossier) == 4
        # Duplicated entries of the source's legal basis list appear once.
        assert len(procedure.legal_basis) == 4
        assert len(procedure.steps) == 5
        # A national-catalogue procedure implemented by provinces: kept for any province.
        assert procedure.agency_codes == []
        assert in_jurisdiction(procedure, "H21") and in_jurisdiction(procedure, "H38")


class TestNormalize:
    def test_minimal_detail_is_tolerated(self, connector: NationalPortalConnector) -> None:
        procedure = connector.normalize(_record({"code": "1.999002", "name": "Thủ tục tối giản"}))

        assert procedure.code == "1.999002"
        assert procedure.submission_methods == []
        assert procedure.dossier == []
        assert procedure.levels == []

    def test_own_shape_maps_units_fees_and_counts(self, connector: NationalPortalConnector) -> None:
        procedure = connector.normalize(_record(_detail()))

        (method,) = procedure.submission_methods
        assert method.channel is SubmissionChannel.POSTAL
        assert method.processing_time is not None
        assert (method.processing_time.value, method.processing_time.unit) == (2.5, TimeUnit.HOUR)
        assert method.fees[0].amount == 25000
        (component,) = procedure.dossier
        assert (component.original_count, component.copy_count) == (1, 2)
        assert component.group == "Trường hợp thông thường"
        assert procedure.levels == ["Cấp tỉnh", "Cấp xã"]
        assert [step.text for step in procedure.steps] == ["Nộp hồ sơ.", "Nhận kết quả."]

    def test_unknown_values_become_warnings(self, connector: NationalPortalConnector) -> None:
        methods = [{"submissionMethod": "KIOSK", "processingTime": 3, "processingTimeUnit": "X"}]

        procedure = connector.normalize(_record(_detail(executionMethods=methods)))

        assert procedure.submission_methods[0].channel is SubmissionChannel.OTHER
        assert procedure.submission_methods[0].processing_time.unit is TimeUnit.UNKNOWN
        assert len(procedure.parse_warnings) == 2

    def test_wrongly_typed_sections_are_skipped(self, connector: NationalPortalConnector) -> None:
        raw = _detail(executionMethods={"oops": 1}, executionCases="none", legalBasisesDetails=None)

        procedure = connector.normalize(_record(raw))

        assert procedure.submission_methods == [] and procedure.dossier == []

    def test_provincial_code_scopes_the_procedure(self, connector: NationalPortalConnector) -> None:
        procedure = connector.normalize(_record(_detail(code="1.000948.H38")))

        assert procedure.agency_codes == ["H38"]
        assert in_jurisdiction(procedure, "H38")
        assert not in_jurisdiction(procedure, "H21")

    def test_provincial_promulgator_scopes_the_procedure(
        self, connector: NationalPortalConnector
    ) -> None:
        procedure = connector.normalize(_record(_detail(departmentPromulgateCode="H21")))

        assert procedure.agency_codes == ["H21"]

    @pytest.mark.parametrize("missing", ["code", "name"])
    def test_missing_identity_raises(
        self, connector: NationalPortalConnector, missing: str
    ) -> None:
        raw = _detail()
        raw.pop(missing)
        raw.pop("codeNotation")

        with pytest.raises(RecordError) as caught:
            connector.normalize(_record(raw, "id-9"))

        assert caught.value.source_id == "id-9"


class TestInit:
    def test_satisfies_the_connector_protocol(self, connector: NationalPortalConnector) -> None:
        assert isinstance(connector, Connector)
        assert connector.name == "dvcqg-api"

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"base_url": "ftp://portal.test"},
            {"base_url": "portal.test"},
            {"base_url": "https://portal.test", "max_attempts": 0},
            {"base_url": "https://portal.test", "page_size": 0},
            {"base_url": "https://portal.test", "agency_code": "Gia Lai"},
        ],
    )
    def test_bad_configuration_raises(self, kwargs: dict[str, Any]) -> None:
        with pytest.raises(ConfigurationError):
            NationalPortalConnector(**kwargs)

    def test_version_decides_has_changed(self, connector: NationalPortalConnector) -> None:
        ref = ItemRef(source_id="a", version="2")

        assert connector.has_changed(ref, None)
        assert connector.has_changed(ref, "1")
        assert not connector.has_changed(ref, "2")
        assert connector.has_changed(ItemRef(source_id="a"), "2")
