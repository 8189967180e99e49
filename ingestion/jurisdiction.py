"""Which procedures a deployment answers for: the national catalogue plus its own province's.

A hotline deployment is configured with the agency code of its province (for example "H21"), or
with none. Procedures of the national catalogue carry no agency code and apply everywhere; a
provincial procedure is scoped to its province, either through its code ("1.000948.H38") or
through the ``agency_codes`` a connector found for it.

Agency codes follow the national agency coding scheme, in which provinces have codes made of "H"
and digits and ministries codes made of "G" and digits. No province is named here: the code to
keep is configuration.
"""

from __future__ import annotations

import re

from ingestion.models import Procedure

PROVINCIAL_AGENCY_CODE = re.compile(r"H\d{2,}")
"""A province's agency code ("H21", "H38")."""

_PROVINCIAL_SUFFIX = re.compile(r"\.(H\d{2,})$", re.IGNORECASE)


def normalize_agency_code(agency_code: str) -> str:
    """The agency code as stored: trimmed and upper-case ("h21 " becomes "H21")."""
    return agency_code.strip().upper()


def province_code_from_procedure_code(procedure_code: str) -> str | None:
    """The province a procedure code is scoped to, if the code carries one.

    Args:
        procedure_code: A procedure code such as "1.000948.H38" or "1.010038".

    Returns:
        The provincial agency code ("H38"), or None for a code of the national catalogue.
    """
    match = _PROVINCIAL_SUFFIX.search(procedure_code.strip())
    return normalize_agency_code(match.group(1)) if match else None


def procedure_scopes(procedure: Procedure) -> set[str]:
    """All agency codes a procedure is scoped to; empty for the national catalogue."""
    scopes = {normalize_agency_code(code) for code in procedure.agency_codes if code.strip()}
    suffix_code = province_code_from_procedure_code(procedure.code)
    if suffix_code:
        scopes.add(suffix_code)
    return scopes


def in_jurisdiction(procedure: Procedure, agency_code: str | None) -> bool:
    """Whether a deployment configured with ``agency_code`` answers for ``procedure``.

    Args:
        procedure: The normalized procedure.
        agency_code: The deployment's province code ("H21"); None or blank when the deployment
            is not scoped to a province, in which case every procedure is kept.

    Returns:
        True for procedures of the national catalogue, and for provincial procedures of the
        configured province; False for another province's procedures.
    """
    if agency_code is None or not agency_code.strip():
        return True
    scopes = procedure_scopes(procedure)
    return not scopes or normalize_agency_code(agency_code) in scopes
