"""Command line of the ticket system: ``hotline tickets migrate | create-user | create-agency``.

A fresh installation has no users, and every ticket endpoint needs a token, so the first admin
is created here, on the machine, with the password read from standard input or a prompt (never
from an argument, which would land in the shell history and the process list). After that the
admin creates everyone else through ``POST /v1/users``.

``add_tickets_commands`` plugs these commands into the ``hotline`` parser of ``ingestion.cli``;
``python -m tickets.cli`` runs them on their own.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from typing import Any

from pydantic import ValidationError

from search.errors import PlatformError
from tickets.auth import MIN_PASSWORD_CHARS, AuthStore, UserCreate
from tickets.settings import TicketSettings
from tickets.workflow import Role

logger = logging.getLogger(__name__)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Mật khẩu / password: ")
        if getpass.getpass("Nhập lại / again: ") != password:
            raise ValueError("the two passwords differ")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    return password


def _open(args: argparse.Namespace) -> tuple[Any, TicketSettings]:
    from tickets.db import open_service

    overrides = {"database_url": args.database_url} if args.database_url else {}
    settings = TicketSettings(**overrides)  # type: ignore[arg-type]  # field names are accepted
    return open_service(settings), settings


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade the ticket database to the newest migration."""
    from tickets.db import migrate

    overrides = {"database_url": args.database_url} if args.database_url else {}
    settings = TicketSettings(**overrides)  # type: ignore[arg-type]  # field names are accepted
    migrate(settings.url)
    print(f"ticket database at head: {settings.url.split('://', 1)[0]}")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    """Create a user (the first admin, typically); refuses a second admin unless --force."""
    service, _ = _open(args)
    try:
        store = AuthStore(service.engine)
        role = Role.from_str(args.role)
        if role is Role.ADMIN and store.count_admins() > 0 and not args.force:
            raise ValueError("an admin exists already; create users through POST /v1/users")
        new = UserCreate(
            username=args.username,
            full_name=args.full_name or "",
            role=role,
            agency_code=args.agency,
            password=_read_password(args),
        )
        user = store.create_user(new)
    finally:
        service.engine.dispose()
    print(f"user {user.username} (id {user.id}, role {user.role.value}) created")
    return 0


def cmd_create_agency(args: argparse.Namespace) -> int:
    """Add an agency that tickets can be transferred to."""
    from sqlalchemy.orm import Session

    from tickets import directory

    service, _ = _open(args)
    try:
        with Session(service.engine) as session, session.begin():
            agency = directory.create_agency(
                session, code=args.code, name=args.name, phone=args.phone, email=args.email
            )
    finally:
        service.engine.dispose()
    print(f"agency {agency.code} ({agency.name}) created")
    return 0


def add_tickets_commands(sub: Any) -> None:
    """Add ``tickets …`` to the subcommands of the ``hotline`` parser.

    Args:
        sub: What ``ArgumentParser.add_subparsers()`` returned.
    """
    tickets = sub.add_parser("tickets", help="the ticket system: migrate, users, agencies")
    tickets.add_argument("--database-url", help="the ticket database (HOTLINE_TICKETS_…)")
    commands = tickets.add_subparsers(dest="tickets_command", required=True)

    commands.add_parser("migrate", help="upgrade the ticket database").set_defaults(
        func=cmd_migrate
    )

    user = commands.add_parser("create-user", help="create a user, e.g. the first admin")
    user.add_argument("--username", required=True)
    user.add_argument(
        "--role", required=True, choices=[r.value for r in Role if r.value != "system"]
    )
    user.add_argument("--full-name", default="")
    user.add_argument("--agency", help="the agency code of an agency_liaison")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user.add_argument("--force", action="store_true", help="allow another admin")
    user.set_defaults(func=cmd_create_user)

    agency = commands.add_parser("create-agency", help="add an agency tickets go to")
    agency.add_argument("--code", required=True)
    agency.add_argument("--name", required=True)
    agency.add_argument("--phone")
    agency.add_argument("--email")
    agency.set_defaults(func=cmd_create_agency)


def main(argv: list[str] | None = None) -> int:
    """Run ``tickets …`` on its own: ``python -m tickets.cli tickets create-user …``."""
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    add_tickets_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except PlatformError as exc:
        print(f"lỗi / error: {exc.detail}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        print(f"lỗi / error: {problems}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"lỗi / error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
