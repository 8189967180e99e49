"""Which procedures a deployment keeps: the national catalogue and its own province's."""

from __future__ import annotations

import pytest

from ingestion.jurisdiction import in_jurisdiction, province_code_from_procedure_code
from ingestion.models import Procedure


def _procedure(code: str, agency_codes: list[str] | None = None) -> Procedure:
    return Procedure(code=code, name="Thủ tục thử", agency_codes=agency_codes or [])


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1.000948.H38", "H38"),
        ("1.000948.000.00.00.h21", "H21"),
        ("1.010038", None),
        ("2.000815.G01", None),
    ],
)
def test_province_code_from_procedure_code(code: str, expected: str | None) -> None:
    assert province_code_from_procedure_code(code) == expected


def test_national_procedures_are_kept_everywhere() -> None:
    national = _procedure("1.010038")

    assert in_jurisdiction(national, "H21")
    assert in_jurisdiction(national, None)


def test_provincial_procedures_stay_in_their_province() -> None:
    provincial = _procedure("1.000948.H38")

    assert in_jurisdiction(provincial, "H38")
    assert in_jurisdiction(provincial, " h38 ")
    assert not in_jurisdiction(provincial, "H21")


def test_agency_codes_scope_a_procedure_without_suffix() -> None:
    scoped = _procedure("1.999003", ["H21"])

    assert in_jurisdiction(scoped, "H21")
    assert not in_jurisdiction(scoped, "H38")


@pytest.mark.parametrize("agency_code", [None, "", "  "])
def test_no_configured_code_keeps_everything(agency_code: str | None) -> None:
    assert in_jurisdiction(_procedure("1.000948.H38"), agency_code)
