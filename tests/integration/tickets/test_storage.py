"""Storage: migrations match the models, the log is append-only, concurrent saves never both win."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.utils.tickets import fresh_postgres_database, make_actor, make_ticket
from tickets.db import alembic_config, create_ticket_engine, migrate
from tickets.errors import VersionConflict
from tickets.models import AppendOnlyViolation, Base, Ticket, TicketEvent
from tickets.schemas import TicketUpdate
from tickets.service import TicketService

pytestmark = pytest.mark.integration


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migration_head_matches_models_on_sqlite(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/fresh.sqlite"
    migrate(url)
    migrate(url)  # a second run is a no-op
    engine = create_ticket_engine(url)
    try:
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_migration_head_matches_models_on_postgresql() -> None:
    with fresh_postgres_database("tickets_migration") as url:
        migrate(url)
        engine = create_ticket_engine(url)
        try:
            assert _diff(engine) == []
            with engine.connect() as connection:
                head = connection.execute(text("SELECT version_num FROM alembic_version"))
                assert head.scalar_one() == "0002"
            # Down and up again: the triggers and their function go and come back cleanly.
            command.downgrade(alembic_config(url), "base")
            migrate(url)
            assert _diff(engine) == []
        finally:
            engine.dispose()


def test_database_refuses_to_change_or_delete_log_rows(
    ticket_service: TicketService, ticket_engine: Engine
) -> None:
    ticket = make_ticket(ticket_service)
    statements = (
        text("UPDATE ticket_events SET text = 'rewritten' WHERE ticket_id = :id"),
        text("DELETE FROM ticket_events WHERE ticket_id = :id"),
        text("DELETE FROM tickets WHERE id = :id"),
    )
    for statement in statements:
        with pytest.raises(DBAPIError), ticket_engine.begin() as connection:
            connection.execute(statement, {"id": ticket.id})
    assert len(ticket_service.events(ticket.id)) == 1
    assert ticket_service.get(ticket.id).id == ticket.id


def test_orm_refuses_to_change_or_delete_log_rows(
    ticket_service: TicketService, ticket_engine: Engine
) -> None:
    ticket = make_ticket(ticket_service)
    with Session(ticket_engine) as session:
        event = session.query(TicketEvent).filter_by(ticket_id=ticket.id).one()
        event.text = "rewritten"
        with pytest.raises(AppendOnlyViolation):
            session.flush()
        session.rollback()
        session.delete(session.get(Ticket, ticket.id))
        with pytest.raises(AppendOnlyViolation):
            session.flush()
    with Session(ticket_engine) as session, pytest.raises(DBAPIError):
        session.execute(update(TicketEvent).values(actor="someone else"))
    with Session(ticket_engine) as session, pytest.raises(DBAPIError):
        session.execute(delete(TicketEvent))


def _race(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads that start together; each result or exception, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # the test inspects which call failed and how
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("ticket_db_url", ["postgresql"], indirect=True)
def test_two_operators_saving_the_same_version_one_wins(ticket_service: TicketService) -> None:
    first, second = make_actor(ticket_service), make_actor(ticket_service)
    ticket = make_ticket(ticket_service, first)
    for round_number in range(5):
        current = ticket_service.get(ticket.id)
        fields = (f"Hộ tịch {round_number}", f"Đất đai {round_number}")
        results = _race(
            [
                lambda actor=actor, field=field, version=current.version: ticket_service.update(
                    ticket.id, TicketUpdate(field=field), actor=actor, expected_version=version
                )
                for actor, field in zip((first, second), fields, strict=True)
            ]
        )
        conflicts = [r for r in results if isinstance(r, VersionConflict)]
        wins = [r for r in results if not isinstance(r, Exception)]
        assert len(wins) == 1 and len(conflicts) == 1, results
        assert conflicts[0].current_version == current.version + 1
        stored = ticket_service.get(ticket.id)
        assert stored.version == current.version + 1
        assert stored.field == wins[0].field  # type: ignore[attr-defined]
        field_events = [e for e in ticket_service.events(ticket.id) if e.field == "field"]
        assert len(field_events) == round_number + 1  # the loser wrote no log line


@pytest.mark.parametrize("ticket_db_url", ["postgresql"], indirect=True)
def test_database_version_check_settles_saves_that_read_the_same_row(
    ticket_service: TicketService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both saves pass the service's own check; the UPDATE's version condition stops one."""
    first, second = make_actor(ticket_service), make_actor(ticket_service)
    ticket = make_ticket(ticket_service, first)
    both_loaded = threading.Barrier(2)
    # Hold each save right after it loaded the row, until the other one has loaded it too.
    monkeypatch.setattr(
        TicketService,
        "_check_version",
        staticmethod(lambda loaded, expected: both_loaded.wait(timeout=20)),
    )
    results = _race(
        [
            lambda: ticket_service.update(
                ticket.id, TicketUpdate(urgency="high"), actor=first, expected_version=1
            ),
            lambda: ticket_service.update(
                ticket.id, TicketUpdate(urgency="low"), actor=second, expected_version=1
            ),
        ]
    )
    conflicts = [r for r in results if isinstance(r, VersionConflict)]
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1 and len(conflicts) == 1, results
    assert conflicts[0].current_version == 2
    stored = ticket_service.get(ticket.id)
    assert stored.version == 2
    assert stored.urgency == wins[0].urgency  # type: ignore[attr-defined]
    assert len([e for e in ticket_service.events(ticket.id) if e.field == "urgency"]) == 1


@pytest.mark.parametrize("ticket_db_url", ["postgresql"], indirect=True)
def test_simultaneous_first_messages_of_a_thread_open_one_ticket(
    ticket_service: TicketService,
) -> None:
    from tickets.intake import Channel, ContactRequest

    def deliver(text_: str) -> object:
        return ticket_service.open_or_append(
            ContactRequest(channel=Channel.SMS, thread_key="0900000999", content=text_)
        )

    for round_number in range(3):
        key = f"0900000{round_number:03d}"
        results = _race(
            [
                lambda key=key: ticket_service.open_or_append(
                    ContactRequest(channel=Channel.SMS, thread_key=key, content="một")
                ),
                lambda key=key: ticket_service.open_or_append(
                    ContactRequest(channel=Channel.SMS, thread_key=key, content="hai")
                ),
            ]
        )
        assert not any(isinstance(r, Exception) for r in results), results
        assert len({r.id for r in results}) == 1  # type: ignore[attr-defined]
        assert sorted(r.created for r in results) == [False, True]  # type: ignore[attr-defined]
    assert deliver("ba").created
