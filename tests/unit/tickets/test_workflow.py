"""The status flow table: allowed steps, roles, and the errors of the others."""

from __future__ import annotations

import pytest

from tickets.errors import InvalidTransition, PermissionDenied
from tickets.workflow import (
    TRANSITIONS,
    Action,
    Role,
    Status,
    action_to,
    allowed_targets,
    check,
)


@pytest.mark.parametrize(
    ("current", "action", "role", "target"),
    [
        (Status.NEW, Action.CLASSIFY, Role.OPERATOR, Status.CLASSIFIED),
        (Status.CLASSIFIED, Action.ANSWER, Role.OPERATOR, Status.ANSWERED),
        (Status.CLASSIFIED, Action.TRANSFER, Role.SYSTEM, Status.TRANSFERRED),
        (Status.NEW, Action.TRANSFER, Role.OPERATOR, Status.TRANSFERRED),
        (Status.TRANSFERRED, Action.AGENCY_ACCEPT, Role.AGENCY_LIAISON, Status.AGENCY_PROCESSING),
        (Status.AGENCY_PROCESSING, Action.AGENCY_ANSWER, Role.AGENCY_LIAISON, Status.ANSWERED),
        (Status.ANSWERED, Action.CLOSE, Role.SUPERVISOR, Status.CLOSED),
        (Status.ANSWERED, Action.REOPEN, Role.OPERATOR, Status.REOPENED),
        (Status.CLOSED, Action.REOPEN, Role.ADMIN, Status.REOPENED),
        (Status.REOPENED, Action.CLASSIFY, Role.OPERATOR, Status.CLASSIFIED),
    ],
)
def test_allowed_steps(current: Status, action: Action, role: Role, target: Status) -> None:
    assert check(current, action, role).target is target


def test_step_outside_the_table_names_current_and_allowed() -> None:
    with pytest.raises(InvalidTransition) as raised:
        check(Status.NEW, Action.CLOSE, Role.OPERATOR)
    assert raised.value.current == "new"
    # Merging also closes a new ticket, but only as a merge; the list names plain steps.
    assert raised.value.allowed == ["classified", "transferred"]
    assert raised.value.error_code.http_status == 409


def test_role_not_allowed_is_permission_denied() -> None:
    with pytest.raises(PermissionDenied) as raised:
        check(Status.TRANSFERRED, Action.AGENCY_ACCEPT, Role.OPERATOR)
    assert "agency_liaison" in raised.value.detail
    assert raised.value.error_code.http_status == 403
    with pytest.raises(PermissionDenied):
        check(Status.CLASSIFIED, Action.ANSWER, Role.EDITOR)


def test_closed_is_left_only_by_reopening() -> None:
    assert allowed_targets(Status.CLOSED) == ["reopened"]
    assert {t.action for t in TRANSITIONS if t.source is Status.CLOSED} == {Action.REOPEN}


def test_merge_is_possible_from_every_open_status() -> None:
    sources = {t.source for t in TRANSITIONS if t.action is Action.MERGE}
    assert sources == set(Status) - {Status.CLOSED}


def test_action_to_finds_the_step_or_refuses() -> None:
    assert action_to("classified", "transferred") is Action.TRANSFER
    assert action_to("answered", "closed") is Action.CLOSE
    with pytest.raises(InvalidTransition):
        action_to("new", "answered")


def test_role_from_str_lists_roles() -> None:
    assert Role.from_str("agency_liaison") is Role.AGENCY_LIAISON
    with pytest.raises(ValueError, match="operator"):
        Role.from_str("boss")


def test_transferred_tickets_can_be_rerouted_or_handed_back() -> None:
    for source in (Status.TRANSFERRED, Status.AGENCY_PROCESSING):
        assert check(source, Action.TRANSFER, Role.OPERATOR).target is Status.TRANSFERRED
        assert check(source, Action.RETURN, Role.AGENCY_LIAISON).target is Status.CLASSIFIED
        with pytest.raises(PermissionDenied):
            check(source, Action.TRANSFER, Role.AGENCY_LIAISON)
    assert action_to("transferred", "classified") is Action.RETURN
    assert action_to("agency_processing", "transferred") is Action.TRANSFER
