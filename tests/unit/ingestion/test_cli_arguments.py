"""The command line refuses out-of-range numbers with a usage line, before anything starts."""

from __future__ import annotations

import pytest

from ingestion.cli import build_parser


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--port", "99999"], "argument --port: 99999 is not within 1 and 65535"),
        (["serve", "--port", "0"], "argument --port: 0 is not within 1 and 65535"),
        (["serve", "--workers", "0"], "argument --workers: 0 is not within 1 and 64"),
        (["serve", "--workers", "-1"], "argument --workers: -1 is not within 1 and 64"),
        (["serve", "--workers", "two"], "argument --workers: 'two' is not a whole number"),
        (["console", "--port", "70000"], "argument --port: 70000 is not within 1 and 65535"),
        (["query", "--limit", "0", "sổ đỏ"], "argument --limit: 0 is not within 1 and 50"),
    ],
)
def test_out_of_range_numbers_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)

    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_numbers_in_range_are_taken() -> None:
    args = build_parser().parse_args(["serve", "--port", "18022", "--workers", "2"])

    assert (args.port, args.workers) == (18022, 2)
