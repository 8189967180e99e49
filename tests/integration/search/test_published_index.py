"""A serving process reads published copies while the writer keeps the embedded index open."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from ingestion.knowledge_base import KnowledgeBase, build_connectors
from ingestion.settings import Settings
from search.engine import SearchEngine
from search.errors import IndexBackendError
from search.index.published import CURRENT_FILE, PublishedIndex, current_generation

pytestmark = pytest.mark.integration


def _record(code: str, name: str) -> dict[str, str]:
    return {
        "ma_thu_tuc": code,
        "ten_thu_tuc": name,
        "cap_thuc_hien": "Cấp xã",
        "linh_vuc": "Hộ tịch",
        "trinh_tu_thuc_hien": f"Bước 1: Nộp hồ sơ {name.lower()}.",
        "cach_thuc_thuc_hien": (
            "Hình thức nộpThời gianPhí, lệ phíMô tảTrực tiếp5 Ngày làm việcMiễn phí"
        ),
        "thanh_phan_ho_so": "Tên giấy tờMẫu đơn, tờ khaiSố lượngTờ khai1 bản chính",
        "detail_url": "",
    }


def _write_dump(path: Path, records: list[dict[str, str]]) -> None:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")


def _sync(settings: Settings, kb: KnowledgeBase) -> None:
    report = kb.sync(build_connectors(settings, ["dump"]))[0]
    assert report.status == "completed"


def _synced_once(tmp_path: Path, names: Sequence[str] = ("Đăng ký khai sinh",)) -> Settings:
    """A data directory synced from a dump of procedures 1.000001, 1.000002, … named
    ``names``, its writer closed."""
    dump = tmp_path / "dump.jsonl"
    _write_dump(dump, [_record(f"1.{i:06d}", name) for i, name in enumerate(names, 1)])
    settings = Settings(data_dir=tmp_path / "var", embedder="none", procedure_dump=dump)
    kb = KnowledgeBase(settings, with_embedder=False)
    try:
        _sync(settings, kb)
    finally:
        kb.close()
    return settings


def test_reader_serves_while_writer_holds_the_index_and_switches_generations(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "dump.jsonl"
    _write_dump(dump, [_record("1.000001", "Đăng ký khai sinh")])
    settings = Settings(data_dir=tmp_path / "var", embedder="none", procedure_dump=dump)
    writer = KnowledgeBase(settings, with_embedder=False)
    try:
        _sync(settings, writer)
        first = current_generation(settings.published_path)
        assert first is not None

        # The writer still holds the shard open; the reader must not need it.
        engine = SearchEngine.open(settings, with_embedder=False)
        assert isinstance(engine.index, PublishedIndex)
        engine.index.check_every_s = 0
        hits = engine.search("dang ky khai sinh").hits
        assert [h.code for h in hits] == ["1.000001"]

        _write_dump(
            dump,
            [_record("1.000001", "Đăng ký khai sinh"), _record("1.000002", "Đăng ký kết hôn")],
        )
        _sync(settings, writer)
        second = current_generation(settings.published_path)
        assert second is not None and second != first

        assert [h.code for h in engine.search("đăng ký kết hôn").hits][:1] == ["1.000002"]
        assert engine.index.generation == second
        engine.close()
    finally:
        writer.close()


def test_no_change_sync_does_not_publish_again(tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    _write_dump(dump, [_record("1.000001", "Đăng ký khai sinh")])
    settings = Settings(data_dir=tmp_path / "var", embedder="none", procedure_dump=dump)
    kb = KnowledgeBase(settings, with_embedder=False)
    try:
        _sync(settings, kb)
        first = current_generation(settings.published_path)
        _sync(settings, kb)
        assert current_generation(settings.published_path) == first
    finally:
        kb.close()


def test_reader_without_publication_explains(tmp_path: Path) -> None:
    with pytest.raises(IndexBackendError, match="run a sync first"):
        PublishedIndex(tmp_path / "published", opener=lambda p: None)  # type: ignore[arg-type,return-value]


def test_pointer_to_missing_generation_counts_as_none(tmp_path: Path) -> None:
    root = tmp_path / "published"
    root.mkdir()
    (root / CURRENT_FILE).write_text("20260101T000000Z", encoding="utf-8")
    assert current_generation(root) is None


def test_second_writer_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    from ingestion.knowledge_base import KnowledgeBaseBusy

    settings = Settings(data_dir=tmp_path / "var", embedder="none")
    first = KnowledgeBase(settings, with_embedder=False)
    try:
        with pytest.raises(KnowledgeBaseBusy, match="another sync or reindex"):
            KnowledgeBase(settings, with_embedder=False)
    finally:
        first.close()
    KnowledgeBase(settings, with_embedder=False).close()  # released on close


def test_two_readers_open_the_same_generation(tmp_path: Path) -> None:
    settings = _synced_once(tmp_path)
    first = SearchEngine.open(settings, with_embedder=False)
    second = SearchEngine.open(settings, with_embedder=False)
    try:
        assert first.index.count() == second.index.count() > 0
    finally:
        first.close()
        second.close()
    readers = settings.published_path / ".readers"
    assert list(readers.iterdir()) == []  # private copies are removed on close


def test_copies_of_dead_readers_are_removed(tmp_path: Path) -> None:
    settings = _synced_once(tmp_path)
    stale = settings.published_path / ".readers" / "999999999-old"
    stale.mkdir(parents=True)
    engine = SearchEngine.open(settings, with_embedder=False)
    engine.close()
    assert not stale.exists()


def _refuse_writes_under(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Copies into ``folder`` fail as on a read-only mount; every other copy is real."""
    import errno
    import shutil

    real_copytree = shutil.copytree

    def copytree(src: Path, dst: Path, *args: object, **kwargs: object) -> object:
        if Path(dst).is_relative_to(folder):
            raise OSError(errno.EROFS, "Read-only file system", str(dst))
        return real_copytree(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "copytree", copytree)


def test_a_reader_that_cannot_write_beside_the_index_copies_it_into_a_private_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _synced_once(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    _refuse_writes_under(monkeypatch, settings.published_path)

    engine = SearchEngine.open(settings, with_embedder=False)
    try:
        assert engine.search("khai sinh", top_k=1).hits[0].code == "1.000001"
        [folder] = list(temp.iterdir())
        assert folder.name.startswith("hotline-readers-") and not folder.is_symlink()
        assert folder.stat().st_mode & 0o777 == 0o700  # its user's alone
        assert len(list(folder.iterdir())) == 1
        assert "Read-only file system" in caplog.text
    finally:
        engine.close()
    assert list(temp.iterdir()) == []


def test_a_reader_that_can_write_nowhere_says_where_it_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _synced_once(tmp_path)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    _refuse_writes_under(monkeypatch, tmp_path)

    with pytest.raises(IndexBackendError, match="cannot copy the published index for reading"):
        SearchEngine.open(settings, with_embedder=False)


def test_a_writer_on_a_folder_it_cannot_write_says_so(tmp_path: Path) -> None:
    from search.errors import ConfigurationError

    settings = Settings(data_dir=tmp_path, embedder="none")
    (tmp_path / "writer.lock").mkdir()  # opening it for writing fails as on a read-only mount

    with pytest.raises(ConfigurationError, match=f"cannot write to {tmp_path}, so no sync"):
        KnowledgeBase(settings, with_embedder=False)


def test_a_reader_reads_every_name_before_its_first_query(tmp_path: Path) -> None:
    from search.name_match import _name_pairs

    names = ["Đăng ký khai sinh", "Đăng ký lại khai sinh", "Đăng ký kết hôn"]
    engine = SearchEngine.open(_synced_once(tmp_path, names), with_embedder=False)
    try:
        read = _name_pairs.cache_info().misses
        hits = engine.search("đăng ký khai sinh").hits
        assert len(hits) > 1 and hits[0].code == "1.000001"
        assert _name_pairs.cache_info().misses == read  # the names were read at start-up
        assert engine.retriever.read_names() == len(names)
    finally:
        engine.close()
