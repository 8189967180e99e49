"""The command line as a user runs it: ``python -m ingestion`` in a subprocess, on a temporary
data folder and a small invented dump, lexical search only (``HOTLINE_EMBEDDER=none``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from tests.utils.procedure_dump import PROCEDURES, procedure_record, standard_records, write_dump
from tests.utils.tickets import fresh_postgres_database

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]
COMMAND_TIMEOUT_S = 120


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def hotline(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run ``python -m ingestion ARGS`` with HOTLINE_EMBEDDER=none and no other HOTLINE_*."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    environ |= {"HOTLINE_EMBEDDER": "none", "PYTHONIOENCODING": "utf-8"} | (env or {})
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", *args],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class Synced:
    data_dir: Path
    dump: Path
    run: Run


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    """One ``hotline sync`` of the invented dump; the tests below read what it left."""
    root = tmp_path_factory.mktemp("cli")
    dump = write_dump(root / "procedures.jsonl.gz", standard_records(), compress=True)
    data_dir = root / "data"
    run = hotline("--data-dir", str(data_dir), "sync", "--dump", str(dump), "--embedder", "none")
    return Synced(data_dir, dump, run)


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under root, with its modification time and size."""
    return {
        str(path.relative_to(root)): (path.stat().st_mtime_ns, path.stat().st_size)
        for path in [root, *root.rglob("*")]
    }


class TestSync:
    def test_run_sync_exits_0_and_prints_the_report(self, synced: Synced) -> None:
        assert synced.run.returncode == 0, synced.run.stderr
        report = json.loads(synced.run.stdout)

        assert report["source"] == "dvcqg-dump"
        assert report["status"] == "completed"
        assert (report["listed"], report["added"], report["failed"]) == (5, 5, 0)
        assert report["embedded"] == 0
        assert report["failures"] == []
        assert (synced.data_dir / "catalog.sqlite").is_file()

    def test_run_status_shows_the_records(self, synced: Synced) -> None:
        run = hotline("--data-dir", str(synced.data_dir), "status")

        assert run.returncode == 0, run.stderr
        status = json.loads(run.stdout)
        assert status["data_dir"] == str(synced.data_dir.resolve())
        assert status["index_backend"] == "edge"
        assert status["records"] == {"dvcqg-dump/procedure": 5}
        assert status["points"] >= 5
        [last_run] = status["recent_runs"]
        assert (last_run["status"], last_run["added"]) == ("completed", 5)

    @pytest.mark.parametrize(
        ("question", "code"),
        [
            ("đăng ký bay khinh khí cầu", "1.900002"),
            ("xin phep bieu dien mua roi nuoc", "1.900005"),  # typed without diacritics
        ],
    )
    def test_run_query_prints_the_expected_procedure_first(
        self, synced: Synced, question: str, code: str
    ) -> None:
        run = hotline("--data-dir", str(synced.data_dir), "query", question)

        assert run.returncode == 0, run.stderr
        ranked = [line for line in run.stdout.splitlines() if line[:1].isdigit()]
        name = next(name for c, name, *_ in PROCEDURES if c == code)
        assert ranked, run.stdout
        assert ranked[0].startswith(f"1. [{code}] {name}"), run.stdout
        assert "hạng. [mã thủ tục] tên  (điểm xếp hạng)" in run.stdout


class TestErrors:
    def test_missing_dump_raises(self, tmp_path: Path) -> None:
        run = hotline("--data-dir", str(tmp_path / "data"), "sync", "--dump", "/nonexistent")

        assert run.returncode == 2
        assert "--dump /nonexistent: no such file" in run.stderr
        assert "Traceback" not in run.stderr
        assert run.stdout == ""

    def test_bad_index_backend_raises(self, tmp_path: Path) -> None:
        dump = write_dump(tmp_path / "procedures.jsonl", standard_records())
        run = hotline(
            "--data-dir",
            str(tmp_path / "data"),
            "sync",
            env={"HOTLINE_INDEX_BACKEND": "bogus", "HOTLINE_PROCEDURE_DUMP": str(dump)},
        )

        assert run.returncode == 2
        assert "index_backend must be one of edge, server, local, got 'bogus'" in run.stderr
        assert "Traceback" not in run.stderr
        assert not (tmp_path / "data").exists()

    @pytest.mark.parametrize("made", [False, True], ids=["missing folder", "empty folder"])
    def test_status_of_a_folder_never_synced_says_so_and_writes_nothing(
        self, tmp_path: Path, made: bool
    ) -> None:
        data_dir = tmp_path / "data"
        if made:
            data_dir.mkdir()
        run = hotline("--data-dir", str(data_dir), "status")

        assert run.returncode == 2
        assert f"no knowledge base in {data_dir}: run `hotline sync` first" in run.stderr
        assert "Traceback" not in run.stderr
        assert run.stdout == ""
        written = list(data_dir.iterdir()) if made else [data_dir] * data_dir.exists()
        assert written == []

    def test_status_with_a_catalog_server_and_no_data_folder_says_so_and_writes_nothing(
        self, tmp_path: Path
    ) -> None:
        with fresh_postgres_database("catalog_test") as url:
            run = hotline(
                "--data-dir", str(tmp_path / "data"), "status", env={"HOTLINE_DATABASE_URL": url}
            )

            assert run.returncode == 2
            assert "no knowledge base in" in run.stderr
            assert "Traceback" not in run.stderr
            assert not (tmp_path / "data").exists()
            engine = create_engine(url)
            try:
                assert inspect(engine).get_table_names() == []
            finally:
                engine.dispose()

    def test_status_of_a_synced_folder_creates_rewrites_and_touches_nothing(
        self, synced: Synced
    ) -> None:
        before = _tree(synced.data_dir)

        run = hotline("--data-dir", str(synced.data_dir), "status")

        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["points"] >= 5
        assert _tree(synced.data_dir) == before

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"", "holds no catalog (no table knowledge_records, sync_runs): run `hotline sync`"),
            (b"not a database at all\n" * 50, "file is not a database"),
        ],
        ids=["zero bytes", "not a database"],
    )
    def test_status_of_a_broken_catalog_file_says_so_and_leaves_it_as_it_was(
        self, tmp_path: Path, content: bytes, message: str
    ) -> None:
        catalog = tmp_path / "catalog.sqlite"
        catalog.write_bytes(content)

        run = hotline("--data-dir", str(tmp_path), "status")

        assert run.returncode == 2
        assert message in run.stderr
        assert "Traceback" not in run.stderr
        assert catalog.read_bytes() == content
        assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.sqlite"]

    def test_a_catalog_database_that_does_not_exist_is_named_without_its_password(
        self, tmp_path: Path
    ) -> None:
        url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:5432/no_such_catalog_db"
        tmp_path.joinpath("data").mkdir()
        for command in ("status", "sync"):
            run = hotline(
                "--data-dir", str(tmp_path / "data"), command, env={"HOTLINE_DATABASE_URL": url}
            )

            assert run.returncode == 2, command
            assert "cannot open the catalog postgresql+psycopg://postgres:***@" in run.stderr
            assert 'database "no_such_catalog_db" does not exist' in run.stderr
            assert "s3cret" not in run.stderr
            assert "Traceback" not in run.stderr

    @pytest.mark.parametrize("command", [["status"], ["query", "giấy phép lái xe"], ["sync"]])
    def test_a_data_dir_that_is_a_file_is_refused(self, tmp_path: Path, command: list[str]) -> None:
        a_file = tmp_path / "notes.txt"
        a_file.write_text("ghi chú", encoding="utf-8")

        run = hotline("--data-dir", str(a_file), *command)

        assert run.returncode == 2
        assert f"the data directory {a_file} is a file, not a folder" in run.stderr
        assert "Traceback" not in run.stderr
        assert a_file.read_text(encoding="utf-8") == "ghi chú"

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("notaurl", "the catalog URL is not a database URL"),
            ("mysql://someone:s3cret@127.0.0.1/x", "cannot use the catalog mysql://someone:***@"),
            ("postgresql+nosuch://x@127.0.0.1/y", "cannot use the catalog postgresql+nosuch://"),
        ],
    )
    def test_a_catalog_url_that_cannot_work_is_refused(
        self, tmp_path: Path, url: str, message: str
    ) -> None:
        run = hotline("--data-dir", str(tmp_path), "status", env={"HOTLINE_DATABASE_URL": url})

        assert run.returncode == 2
        assert message in run.stderr
        assert "Traceback" not in run.stderr and "s3cret" not in run.stderr

    @pytest.mark.parametrize(
        ("manifest", "index"),
        [
            ("[1, 2]", "is not a manifest a sync wrote"),
            ('{"points": "lots"}', "holds no point count"),
            ('{"points": -3}', "holds no point count"),
        ],
    )
    def test_status_of_a_generation_with_a_broken_manifest_says_so(
        self, synced: Synced, tmp_path: Path, manifest: str, index: str
    ) -> None:
        import shutil

        from search.index.published import current_generation

        copy = tmp_path / "copy"
        shutil.copytree(synced.data_dir, copy)
        generation = current_generation(copy / "published")
        assert generation is not None
        (copy / "published" / generation / "manifest.json").write_text(manifest, "utf-8")

        run = hotline("--data-dir", str(copy), "status")

        assert run.returncode == 0, run.stderr
        status = json.loads(run.stdout)
        assert status["points"] is None
        assert index in status["index"]

    def test_status_of_a_generation_published_without_a_manifest_says_so(
        self, synced: Synced, tmp_path: Path
    ) -> None:
        import shutil

        from search.index.published import current_generation

        copy = tmp_path / "copy"
        shutil.copytree(synced.data_dir, copy)
        generation = current_generation(copy / "published")
        assert generation is not None
        (copy / "published" / generation / "manifest.json").unlink()

        run = hotline("--data-dir", str(copy), "status")

        assert run.returncode == 0, run.stderr
        status = json.loads(run.stdout)
        assert (status["generation"], status["points"]) == (generation, None)
        assert "published without its point count" in status["index"]

    def test_a_dump_that_is_a_folder_is_refused(self, tmp_path: Path) -> None:
        run = hotline("--data-dir", str(tmp_path / "data"), "sync", "--dump", str(tmp_path))

        assert run.returncode == 2
        assert f"--dump {tmp_path} is a folder; name the JSONL(.gz) dump file" in run.stderr
        assert not (tmp_path / "data").exists()

    def test_a_sync_removing_most_records_needs_allow_removals(self, tmp_path: Path) -> None:
        records = standard_records() + [
            procedure_record(f"1.9002{n:02d}", f"Thủ tục thử nghiệm số {n}") for n in range(5)
        ]
        data = str(tmp_path / "data")
        full = write_dump(tmp_path / "full.jsonl", records)
        assert hotline("--data-dir", data, "sync", "--dump", str(full)).returncode == 0
        partial = str(write_dump(tmp_path / "partial.jsonl", records[:2]))

        refused = hotline("--data-dir", data, "sync", "--dump", partial)
        allowed = hotline("--data-dir", data, "sync", "--dump", partial, "--allow-removals")

        assert refused.returncode == 1
        assert "no longer lists 8 of the 10 records" in json.loads(refused.stdout)["error"]
        assert allowed.returncode == 0, allowed.stderr
        assert json.loads(allowed.stdout)["removed"] == 8

    def test_sigterm_during_a_sync_records_it_as_interrupted(self, tmp_path: Path) -> None:
        import signal
        import sqlite3
        import time

        records = [procedure_record(f"1.95{n:04d}", f"Thủ tục thử nghiệm {n}") for n in range(3000)]
        dump = write_dump(tmp_path / "big.jsonl", records)
        data = tmp_path / "data"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ingestion",
                "--data-dir",
                str(data),
                "sync",
                "--dump",
                str(dump),
            ],
            cwd=REPO_ROOT,
            env=environ | {"HOTLINE_EMBEDDER": "none"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        catalog = data / "catalog.sqlite"
        deadline = time.monotonic() + 60

        def running() -> bool:
            if not catalog.exists():
                return False
            try:
                with sqlite3.connect(catalog) as db:
                    rows = db.execute("SELECT status FROM sync_runs").fetchall()
            except sqlite3.OperationalError:  # the file is there, its tables not yet
                return False
            return rows == [("running",)]

        while not running() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running(), "the sync ended before it could be stopped"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)

        assert process.returncode == 128 + signal.SIGTERM
        assert b"Traceback" not in stderr
        with sqlite3.connect(catalog) as db:
            [(status, error)] = db.execute("SELECT status, error FROM sync_runs").fetchall()
        assert (status, error) == (
            "interrupted",
            "stopped by SystemExit before the run finished",
        )

    def test_serve_on_a_folder_it_cannot_write_says_so_before_starting(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        import errno

        from ingestion.cli import main

        def read_only(*args: object, **kwargs: object) -> object:
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr("tempfile.NamedTemporaryFile", read_only)
        for name in ("HOTLINE_QUALITY_DATABASE_URL", "HOTLINE_TICKETS_DATABASE_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))  # main() sets it; restored after

        assert main(["--data-dir", str(tmp_path), "serve", "--port", "18799"]) == 2
        err = capsys.readouterr().err
        assert f"cannot write to {tmp_path} (Read-only file system)" in err
        assert "HOTLINE_TICKETS_DATABASE_URL and HOTLINE_QUALITY_DATABASE_URL" in err

    def test_status_of_a_folder_it_cannot_read_says_so(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from ingestion.cli import main

        def refused(path: Path) -> bool:
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(Path, "is_dir", refused)
        monkeypatch.setenv("HOTLINE_EMBEDDER", "none")
        monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))  # main() sets it; restored after

        assert main(["--data-dir", str(tmp_path), "status"]) == 2
        assert f"cannot read {tmp_path}: [Errno 13] Permission denied" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "name"),
    [
        ("HOTLINE_EMBEDDER", "embedder"),
        ("HOTLINE_QUERY_ENGINE", "query_engine"),
        ("HOTLINE_QUERY_PRECISION", "query_precision"),
        ("HOTLINE_PASSAGE_ENGINE", "passage_engine"),
    ],
)
def test_unknown_embedder_setting_is_refused_by_every_command(
    tmp_path: Path, variable: str, name: str
) -> None:
    env = {**os.environ, variable: "bogus", "HOTLINE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"{name} must be one of" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_shows_a_run_whose_process_died_as_interrupted(tmp_path: Path) -> None:
    from ingestion.catalog import Catalog
    from ingestion.models import utc_now

    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    catalog.start_run("dvcqg-dump", utc_now())  # never finished: its process was killed
    catalog.close()
    env = {**os.environ, "HOTLINE_DATA_DIR": str(tmp_path), "HOTLINE_EMBEDDER": "none"}
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["recent_runs"]
    assert [r["status"] for r in runs] == ["interrupted"]
