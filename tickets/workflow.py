"""The status flow of a ticket: one table of allowed transitions, each with the roles allowed.

    new ─────────classify──────────▶ classified ──answer──▶ answered ──close──▶ closed
    reopened ────classify──────────▶ classified                 answered ──reopen─▶ reopened
    new, classified ──transfer──▶ transferred ──agency_accept──▶ agency_processing
    agency_processing ──agency_answer──▶ answered               closed ────reopen─▶ reopened
    transferred, agency_processing ──transfer──▶ transferred   (to another agency: re-routing)
    transferred, agency_processing ──return_to_hotline──▶ classified   (the agency hands it back)

Merging closes the source ticket from any status but ``closed``; it is in the table too, so the
table is the only place that says what may happen. The service asks ``check`` before every status
change; a step that is not in the table raises ``InvalidTransition`` (409) naming the current
status and the allowed next ones, and a step the actor's role may not take raises
``PermissionDenied`` (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tickets.errors import InvalidTransition, PermissionDenied


class Status(str, Enum):
    """Where a ticket is in its flow."""

    NEW = "new"
    CLASSIFIED = "classified"
    TRANSFERRED = "transferred"
    AGENCY_PROCESSING = "agency_processing"
    ANSWERED = "answered"
    CLOSED = "closed"
    REOPENED = "reopened"


class Role(str, Enum):
    """What a user may do. ``system`` is a channel, the telephony bridge or a scheduled job."""

    OPERATOR = "operator"
    EDITOR = "editor"
    SUPERVISOR = "supervisor"
    AGENCY_LIAISON = "agency_liaison"
    ADMIN = "admin"
    SYSTEM = "system"

    @classmethod
    def from_str(cls, value: str) -> Role:
        """The role named ``value``.

        Raises:
            ValueError: not a role; the message lists the allowed ones.
        """
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(role.value for role in cls)
            raise ValueError(f"unknown role {value!r}; allowed: {allowed}") from None


class Action(str, Enum):
    """The steps of the flow, as the service names them."""

    CLASSIFY = "classify"
    ANSWER = "answer"
    TRANSFER = "transfer"
    AGENCY_ACCEPT = "agency_accept"
    AGENCY_ANSWER = "agency_answer"
    CLOSE = "close"
    REOPEN = "reopen"
    MERGE = "merge"
    RETURN = "return_to_hotline"


OPEN_STATUSES = frozenset(status.value for status in Status if status is not Status.CLOSED)
"""Statuses of a ticket that is still being worked on (new contacts of its thread append to it)."""

PENDING_STATUSES = frozenset(
    status.value for status in Status if status not in (Status.ANSWERED, Status.CLOSED)
)
"""Statuses of a ticket still waiting for its answer; only these can be overdue."""


@dataclass(frozen=True)
class Transition:
    """One allowed step: from ``source`` by ``action`` to ``target``, for ``roles``."""

    source: Status
    action: Action
    target: Status
    roles: frozenset[Role]


_DESK = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
_DESK_AND_SYSTEM = _DESK | {Role.SYSTEM}
_AGENCY = frozenset({Role.AGENCY_LIAISON, Role.SUPERVISOR, Role.ADMIN})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(Status.NEW, Action.CLASSIFY, Status.CLASSIFIED, _DESK_AND_SYSTEM),
    Transition(Status.REOPENED, Action.CLASSIFY, Status.CLASSIFIED, _DESK_AND_SYSTEM),
    Transition(Status.CLASSIFIED, Action.ANSWER, Status.ANSWERED, _DESK),
    Transition(Status.CLASSIFIED, Action.TRANSFER, Status.TRANSFERRED, _DESK_AND_SYSTEM),
    # Urgent calls go to the agency straight away, with their recording, before classification.
    Transition(Status.NEW, Action.TRANSFER, Status.TRANSFERRED, _DESK_AND_SYSTEM),
    Transition(Status.TRANSFERRED, Action.AGENCY_ACCEPT, Status.AGENCY_PROCESSING, _AGENCY),
    # A ticket sent to the wrong agency: the desk re-routes it, or the agency hands it back.
    Transition(Status.TRANSFERRED, Action.TRANSFER, Status.TRANSFERRED, _DESK),
    Transition(Status.AGENCY_PROCESSING, Action.TRANSFER, Status.TRANSFERRED, _DESK),
    Transition(Status.TRANSFERRED, Action.RETURN, Status.CLASSIFIED, _AGENCY),
    Transition(Status.AGENCY_PROCESSING, Action.RETURN, Status.CLASSIFIED, _AGENCY),
    Transition(Status.AGENCY_PROCESSING, Action.AGENCY_ANSWER, Status.ANSWERED, _AGENCY),
    Transition(Status.ANSWERED, Action.CLOSE, Status.CLOSED, _DESK_AND_SYSTEM),
    Transition(Status.ANSWERED, Action.REOPEN, Status.REOPENED, _DESK),
    Transition(Status.CLOSED, Action.REOPEN, Status.REOPENED, _DESK),
    *(
        Transition(source, Action.MERGE, Status.CLOSED, _DESK)
        for source in Status
        if source is not Status.CLOSED
    ),
)


def _as_status(value: Status | str) -> Status:
    return value if isinstance(value, Status) else Status(value)


def next_steps(current: Status | str, role: Role | None = None) -> list[Transition]:
    """Transitions out of ``current``, limited to those ``role`` may take when given."""
    status = _as_status(current)
    return [t for t in TRANSITIONS if t.source is status and (role is None or role in t.roles)]


def allowed_targets(
    current: Status | str, role: Role | None = None, *, include_merge: bool = False
) -> list[str]:
    """Statuses reachable from ``current`` in one step (by ``role`` when given), sorted.

    Merging is left out unless asked for: it closes a ticket only by naming the ticket it goes
    into, so ``closed`` is not a status one can simply move a new ticket to.
    """
    return sorted(
        {
            t.target.value
            for t in next_steps(current, role)
            if include_merge or t.action is not Action.MERGE
        }
    )


def check(current: Status | str, action: Action, role: Role) -> Transition:
    """The transition ``action`` takes from ``current``, if ``role`` may take it.

    Raises:
        InvalidTransition: the flow has no such step from ``current``.
        PermissionDenied: the step exists but ``role`` may not take it.
    """
    status = _as_status(current)
    roles = {r for t in TRANSITIONS if t.action is action for r in t.roles}
    if role not in roles:
        # The role may never take this step: say so rather than blame the status.
        allowed_roles = ", ".join(sorted(r.value for r in roles))
        raise PermissionDenied(
            f"role {role.value!r} may not {action.value} tickets; allowed roles: {allowed_roles}"
        )
    for transition in TRANSITIONS:
        if transition.source is status and transition.action is action:
            if role not in transition.roles:
                allowed = ", ".join(sorted(r.value for r in transition.roles))
                raise PermissionDenied(
                    f"role {role.value!r} may not {action.value} a ticket; allowed roles: {allowed}"
                )
            return transition
    target = _ACTION_TARGET[action]
    raise InvalidTransition(
        current=status.value,
        requested=target.value,
        allowed=allowed_targets(status),
        reason=f"action {action.value!r}",
    )


def action_to(current: Status | str, target: Status | str) -> Action:
    """The action that moves a ticket from ``current`` to ``target`` (merging aside).

    Raises:
        InvalidTransition: no step of the flow leads there.
    """
    status, wanted = _as_status(current), _as_status(target)
    for transition in TRANSITIONS:
        if (
            transition.source is status
            and transition.target is wanted
            and transition.action is not Action.MERGE
        ):
            return transition.action
    raise InvalidTransition(
        current=status.value, requested=wanted.value, allowed=allowed_targets(status)
    )


_ACTION_TARGET = {t.action: t.target for t in TRANSITIONS}
